import { type ChatError, HTTP_STATUS } from "../../domain/errors";

/** Every Swappart HTTP answer (seed 002): `error_message` null on success, a human message on failure. */
export interface Envelope<T> {
  error_message: string | null;
  data: T | null;
}

export const success = <T>(data: T): Envelope<T> => ({ error_message: null, data });

export const failure = (error: ChatError): Envelope<never> => ({ error_message: error.message, data: null });

/** The HTTP status of a refusal: the canonical one (400, 401, 403, 404, and 409/413/429/500 beyond the seed). */
export const statusOf = (error: ChatError): number => HTTP_STATUS[error.code];

/**
 * The seed shows `GET /rooms/:id` bare while every other endpoint is enveloped. The answer is both: the
 * envelope, and the same fields at the top level, so a client written from either reading finds them.
 */
export const successAndBare = <T extends object>(data: T): Envelope<T> & T => ({ ...data, ...success(data) });
