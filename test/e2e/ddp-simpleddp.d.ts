/** The part of simpleddp 2.2 (which ships no types) that the DDP end-to-end test drives. */
declare module "simpleddp" {
  interface Options {
    endpoint: string;
    SocketConstructor: unknown;
    reconnectInterval?: number;
  }
  interface Subscription {
    ready(): Promise<void>;
  }
  export default class SimpleDDP {
    constructor(options: Options);
    connect(): Promise<void>;
    disconnect(): Promise<void>;
    call(method: string, ...params: unknown[]): Promise<unknown>;
    subscribe(name: string, ...params: unknown[]): Subscription;
    // biome-ignore lint/suspicious/noExplicitAny: simpleddp hands raw DDP messages to its listeners
    on(event: string, listener: (message: any) => void): { stop(): void };
  }
}
