import { z } from "zod";
import { jsonBoundsIssue } from "./bounds";

/** Shapes shared by the HTTP API and the socket protocols, so both refuse the same input the same way. */

export const userIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[^\s:]+$/, "user ids have no spaces or colons");

export const tempIdSchema = z.string().min(1).max(128);

/** Refuses free-form JSON (`data`, `metadata`) beyond `JSON_LIMITS`, before it can be stored. */
export function refineJsonBounds(value: unknown, ctx: z.RefinementCtx): void {
  const issue = jsonBoundsIssue(value);
  if (issue !== null) ctx.addIssue({ code: "custom", message: issue });
}

/** Free-form application JSON within `JSON_LIMITS`. */
export const boundedJsonSchema = z.unknown().superRefine(refineJsonBounds);

export const messageTypeSchema = z.enum(["text", "command"]);

/** A message draft's shape. Its text length is the room's rule (`checkDraftLimits`), since it is configurable. */
export const draftSchema = z.object({
  temp_id: tempIdSchema,
  text: z.string(),
  type: messageTypeSchema.optional(),
  custom_type: z.string().max(64).nullish(),
  data: boundedJsonSchema.optional(),
  to: userIdSchema.nullish(),
  /** The thread root: its id, or its seq in the room (`MessageRef`). */
  parent_id: z.union([z.string().min(1).max(64), z.object({ seq: z.number().int().min(1) })]).nullish(),
});

/** Why a draft cannot be stored under the room's configurable rules, or null when it can. */
export function checkDraftLimits(
  draft: { text: string; data?: unknown },
  maxChars: number,
): { code: "payload_too_large" | "bad_request"; message: string } | null {
  if (draft.text.length > maxChars)
    return { code: "payload_too_large", message: `text is longer than ${maxChars} characters` };
  if (draft.text.trim() === "" && (draft.data === undefined || draft.data === null))
    return { code: "bad_request", message: "text is empty" };
  return null;
}

export const sinceSchema = z.number().int().min(0);

export function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "invalid input";
  const path = issue.path.join(".");
  return path ? `${path}: ${issue.message}` : issue.message;
}
