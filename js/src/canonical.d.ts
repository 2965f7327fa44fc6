/**
 * `@mailroom/channel/canonical`: the canonical JSON of a parse, shared by
 * every host so one set of golden files checks them all. Uses `node:crypto`.
 *
 * @module
 */

import type { MailroomParseError, ParsedMessage } from './index.js';

/**
 * The canonical JSON text of what `parse` returned or threw:
 * `JSON.stringify(value, null, 2) + "\n"`, byte-identical to the Rust host's
 * `serde_json::to_string_pretty(&value)? + "\n"`.
 *
 * A message gives, in this key order (absent optionals are `null`):
 * ```json
 * {"message-id", "in-reply-to", "references", "from", "to", "cc", "reply-to",
 *  "subject", "date", "text", "html",
 *  "attachments": [{"filename", "content-type", "content-id", "disposition",
 *                   "inline", "size", "sha256"}],
 *  "headers": [{"name", "value"}]}
 * ```
 * with mailboxes as `{"name", "address"}` and `sha256` the lower-case hex
 * SHA-256 of the attachment's bytes (the bytes themselves are not included).
 *
 * An error gives `{"error": {"kind": "limit-exceeded", "limit", "value", "message"}}`
 * or `{"error": {"kind": "invalid-limits" | "malformed", "message"}}`.
 *
 * @throws {TypeError} for an Error that is not a {@link MailroomParseError}.
 */
export function canonicalJson(resultOrError: ParsedMessage | MailroomParseError): string;
