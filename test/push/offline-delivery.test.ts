import { describe, expect, it } from "vitest";
import { fcmSendsTo, registerDevice, waitForSends } from "../helpers/push";
import { makeRoom, profile, sleep } from "../helpers/rooms";
import { openSocket } from "../helpers/sockets";
import { tokenFor } from "../helpers/tokens";

describe("offline push hand-off from the UserDO", () => {
  it("pushes exactly once per message to each device of an offline member", async () => {
    const room = await makeRoom("push-off", "kai", ["lou"]);
    await registerDevice("lou", "lou-phone");
    await registerDevice("lou", "lou-tablet");
    await room.post(profile("kai"), { temp_id: "p1", text: "are you there?" });
    expect(await waitForSends("lou-phone", 1)).toBe(1);
    expect(await waitForSends("lou-tablet", 1)).toBe(1);
    await sleep(1500);
    expect(await fcmSendsTo("lou-phone")).toBe(1);
  });

  it("never pushes while any device of the member is online", async () => {
    const room = await makeRoom("push-on", "kai", ["mia"]);
    await registerDevice("mia", "mia-phone");
    const laptop = await openSocket("/v1/ws", { token: await tokenFor("mia") });
    const phone = await openSocket("/v1/ws", { token: await tokenFor("mia") });
    laptop.close();
    await sleep(200);
    await room.post(profile("kai"), { temp_id: "o1", text: "you are online" });
    await sleep(2500);
    expect(await fcmSendsTo("mia-phone")).toBe(0);
    phone.close();
  });
});
