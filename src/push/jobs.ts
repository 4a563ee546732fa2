/** A unit of work on the push queue. */
export type PushJob = { kind: "placeholder" };
