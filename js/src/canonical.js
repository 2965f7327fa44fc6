// The canonical JSON of a parse: the answer every host prints the same way,
// byte for byte, so goldens can be shared. The Rust host writes it with
// serde_json::to_string_pretty + "\n"; JSON.stringify(v, null, 2) produces
// the same bytes for these values (same indentation, same ": ", same string
// escapes: \" \\ \b \f \n \r \t and lower-case \u00XX for other controls,
// everything else literal; integers only).
//
// Uses node:crypto for sha256 (Node, Deno, and workerd with nodejs_compat);
// the facade in index.js does not import this module.

import { createHash } from 'node:crypto';

const KINDS = new Set(['limit-exceeded', 'invalid-limits', 'malformed']);

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

const mailboxes = (list) => list.map((m) => ({ name: m.name, address: m.address }));

function messageValue(m) {
  return {
    'message-id': m.messageId,
    'in-reply-to': m.inReplyTo,
    references: m.references,
    from: mailboxes(m.from),
    to: mailboxes(m.to),
    cc: mailboxes(m.cc),
    'reply-to': mailboxes(m.replyTo),
    subject: m.subject,
    date: m.date,
    text: m.text,
    html: m.html,
    attachments: m.attachments.map((a) => ({
      filename: a.filename,
      'content-type': a.contentType,
      'content-id': a.contentId,
      disposition: a.disposition,
      inline: a.inline,
      size: a.size,
      sha256: sha256(a.content),
    })),
    headers: m.headers.map((h) => ({ name: h.name, value: h.value })),
  };
}

function errorValue(e) {
  if (e.kind === 'limit-exceeded') {
    return { error: { kind: e.kind, limit: e.limit, value: e.value, message: e.message } };
  }
  return { error: { kind: e.kind, message: e.message } };
}

/**
 * The canonical JSON text of what `parse` returned or threw.
 * @param {import('./index.js').ParsedMessage | import('./index.js').MailroomParseError} resultOrError
 * @returns {string}
 */
export function canonicalJson(resultOrError) {
  if (resultOrError instanceof Error) {
    // By shape rather than instanceof, so two copies of the package agree.
    if (!KINDS.has(resultOrError.kind)) {
      throw new TypeError('canonicalJson: only a MailroomParseError has a canonical form', {
        cause: resultOrError,
      });
    }
    return JSON.stringify(errorValue(resultOrError), null, 2) + '\n';
  }
  return JSON.stringify(messageValue(resultOrError), null, 2) + '\n';
}
