import { Client, type IFrame, type IMessage, type StompConfig } from "@stomp/stompjs";
import { devToken, wsUrl } from "./client";
import { Mailbox } from "./wire";

/**
 * A Gossip VideoRoom chat client as seed 000 describes it: `@stomp/stompjs` with the connect headers token,
 * appid, userid and username, the room topic, the per-user DM topic, `/app/chat` and `/app/dm`.
 */

export const APP_ID = "flipflop-e2e";

export interface GossipUser {
  id: string;
  username: string;
  token: string;
}

export async function gossipUser(id: string, avatar: string | null = null): Promise<GossipUser> {
  const username = `nick-${id}`;
  return { id, username, token: await devToken(id, { name: username, ...(avatar ? { avatar } : {}) }) };
}

export const chatTopic = (room: string) => `/topic/chat/${room}`;
export const dmTopic = (room: string, userId: string) => `/topic/dm/${room}/user/${userId}`;
export const stompUrl = (room: string) => wsUrl(`/v1/rooms/${encodeURIComponent(room)}/stomp`);
/** The user-scoped endpoint: one socket for every room of its user. */
export const userStompUrl = () => wsUrl("/v1/stomp");

/** The Message Model as the seed sends it. */
export interface SentMessage {
  channel_key: string;
  user: { id: string; username?: string; avatar?: string };
  message_type: string;
  message: string;
  custom_type?: string;
  data?: unknown;
}

/** A MESSAGE frame, its body parsed. */
export interface Delivery {
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

const described = (d: Delivery) => `${JSON.stringify(d.headers)} ${JSON.stringify(d.body)}`;

export interface GossipOptions {
  room: string;
  user: GossipUser;
  /** Overrides the seed's four connect headers. */
  connectHeaders?: Record<string, string>;
  brokerURL?: string;
  /** 0 (no automatic reconnection) unless a test exercises it. */
  reconnectDelay?: number;
  /** Further stompjs options (versions, frame splitting, binary frames). */
  config?: StompConfig;
}

export class GossipClient {
  readonly client: Client;
  readonly connects = new Mailbox<IFrame>((f) => JSON.stringify(f.headers));
  readonly errors = new Mailbox<IFrame>((f) => `${JSON.stringify(f.headers)} ${f.body}`);
  readonly closes = new Mailbox<{ code: number; reason: string }>();
  private receipts = 0;

  constructor(readonly options: GossipOptions) {
    const { room, user } = options;
    this.client = new Client({
      brokerURL: options.brokerURL ?? stompUrl(room),
      connectHeaders: options.connectHeaders ?? {
        token: user.token,
        appid: APP_ID,
        userid: user.id,
        username: user.username,
      },
      reconnectDelay: options.reconnectDelay ?? 0,
      // The seed's SDKs beat every 25 s; the server asks for nothing faster.
      heartbeatOutgoing: 25_000,
      heartbeatIncoming: 0,
      onConnect: (frame) => this.connects.push(frame),
      onStompError: (frame) => this.errors.push(frame),
      onWebSocketClose: (event: CloseEvent) => this.closes.push({ code: event.code, reason: event.reason }),
      ...options.config,
    });
  }

  /** Activates the client and waits for CONNECTED. */
  static async connect(options: GossipOptions): Promise<GossipClient> {
    const gossip = new GossipClient(options);
    gossip.client.activate();
    await gossip.connects.next();
    return gossip;
  }

  /** Activates the client and waits for the refusal: the ERROR frame, then the close. */
  static async refused(options: GossipOptions): Promise<{ error: IFrame; close: { code: number } }> {
    const gossip = new GossipClient(options);
    gossip.client.activate();
    const error = await gossip.errors.next();
    const close = await gossip.closes.next();
    expectNoConnect(gossip);
    return { error, close };
  }

  private receiptId(what: string): string {
    this.receipts += 1;
    return `${what}-${this.receipts}`;
  }

  /** Resolves with the RECEIPT frame for `receipt`. */
  receipt(receipt: string): Promise<IFrame> {
    return new Promise((resolve) => this.client.watchForReceipt(receipt, resolve));
  }

  /** Subscribes and waits for the server's RECEIPT, so that what is sent afterwards is delivered. */
  async subscribe(destination: string): Promise<Mailbox<Delivery>> {
    const inbox = new Mailbox<Delivery>(described);
    const receipt = this.receiptId("sub");
    const receipted = this.receipt(receipt);
    this.client.subscribe(destination, (message: IMessage) => inbox.push(delivery(message)), { receipt });
    await receipted;
    return inbox;
  }

  /** Sends to `/app/chat` (or `/app/dm` with a receiver) and waits for the RECEIPT: the message is stored. */
  async send(body: SentMessage, receiver?: string): Promise<IFrame> {
    const receipt = this.receiptId("send");
    const receipted = this.receipt(receipt);
    this.publish(body, { receipt, ...(receiver ? { receiver } : {}) });
    return receipted;
  }

  publish(body: SentMessage, headers: Record<string, string> = {}): void {
    this.client.publish({
      destination: headers.receiver ? "/app/dm" : "/app/chat",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
  }

  message(text: string, extra: Partial<SentMessage> = {}): SentMessage {
    const { room, user } = this.options;
    return {
      channel_key: room,
      user: { id: user.id, username: user.username },
      message_type: "MESSAGE",
      message: text,
      ...extra,
    };
  }

  /** DISCONNECT with a receipt (stompjs always asks for one) and wait for the socket to close. */
  async disconnect(): Promise<void> {
    await this.client.deactivate();
  }
}

function delivery(message: IMessage): Delivery {
  return { headers: { ...message.headers }, body: JSON.parse(message.body) as Record<string, unknown> };
}

function expectNoConnect(gossip: GossipClient): void {
  if (gossip.connects.items.length > 0) throw new Error("a refused client was CONNECTED");
}

export const ofMessageType =
  (type: string) =>
  (d: Delivery): boolean =>
    d.body.message_type === type;

export const byText =
  (text: string) =>
  (d: Delivery): boolean =>
    d.body.message === text;
