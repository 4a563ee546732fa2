/**
 * Reaction keys. A reaction is either one emoji as Unicode defines it (an RGI emoji: a single pictograph, a
 * skin-toned or ZWJ sequence, a flag, a keycap) or a `:shortcode:` naming a custom or named emoji, of 1-32
 * characters from `a-z 0-9 _ + -` (Slack's and Rocket.Chat's shortcodes, `:+1:` included).
 * Skin-tone shortcodes (`:+1::skin-tone-2:`) are not a single key: clients send the emoji itself for those.
 */

/** The longest key: a 32-character shortcode with its colons (RGI sequences are at most 15 UTF-16 units). */
export const MAX_EMOJI_LENGTH = 34;

// The `v` flag's `\p{RGI_Emoji}` is a property of strings: it matches whole sequences, not code points.
const RGI_EMOJI = /^\p{RGI_Emoji}$/v;
const SHORTCODE = /^:([a-z0-9_+-]{1,32}):$/;
const VARIATION_SELECTOR_16 = "\uFE0F";

/**
 * The canonical key of a reaction, or null when `raw` is not one emoji or shortcode. Shortcodes are
 * lower-cased; a pictograph sent in its text form (`❤` without U+FE0F) becomes its emoji form (`❤️`), so both
 * spellings count as the same reaction.
 */
export function normalizeEmoji(raw: string): string | null {
  if (raw.length === 0 || raw.length > MAX_EMOJI_LENGTH) return null;
  const shortcode = SHORTCODE.exec(raw.toLowerCase());
  if (shortcode) return `:${shortcode[1]}:`;
  if (RGI_EMOJI.test(raw)) return raw;
  const emojiForm = raw + VARIATION_SELECTOR_16;
  if (!raw.endsWith(VARIATION_SELECTOR_16) && RGI_EMOJI.test(emojiForm)) return emojiForm;
  return null;
}
