/**
 * Strict decoding of base64url JSON segments, for verifiers that must read a token exactly one way.
 *
 * The lenient helpers in encoding.ts are fine for data we produced ourselves; a verifier deciding whether to
 * believe someone else's token must not: Node's base64url decoder ignores stray trailing bits (so several
 * strings decode to the same bytes), `Buffer#toString("utf8")` silently turns invalid UTF-8 into U+FFFD, and
 * `JSON.parse` keeps the last of two members with the same name (so two parsers can read two different
 * claims from one signed text). Each of those is refused here, with the reason, so callers can give it a code:
 * - `malformed`: characters outside the base64url alphabet (padding included), not JSON, or not the expected shape;
 * - `encoding`: base64url that is not the canonical encoding of its bytes (RFC 4648 §3.5, RFC 7515 §2 "without
 *   padding"), bytes that are not valid UTF-8 (RFC 7515 §5.2 step 8, RFC 7519 §7.2 step 8, RFC 8259 §8.1), or a
 *   JSON string escape that yields an unpaired surrogate (text no UTF-8 encoding can carry);
 * - `duplicate`: an object with two members of the same name, compared after unescaping (RFC 7515 §5.2 and
 *   RFC 7519 §4 let a recipient reject these; we do, everywhere).
 */

export type StrictProblem = "malformed" | "encoding" | "duplicate";
export type StrictResult<T> = { ok: true; value: T } | { ok: false; problem: StrictProblem; message: string };

const B64URL_ALPHABET = /^[A-Za-z0-9_-]*$/;
const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// `ignoreBOM: true` keeps a leading U+FEFF in the text, so JSON.parse refuses it instead of it vanishing.
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

const bad = (problem: StrictProblem, message: string): { ok: false; problem: StrictProblem; message: string } => ({ ok: false, problem, message });

/** The bytes of a canonical, unpadded base64url string; anything else is refused. */
export function decodeB64urlStrict(s: string): StrictResult<Buffer> {
  if (!B64URL_ALPHABET.test(s)) return bad("malformed", "not base64url (a character outside the alphabet, or padding)");
  if (s.length % 4 === 1) return bad("encoding", "not a valid base64url length");
  const bytes = Buffer.from(s, "base64url");
  // Re-encoding gives back the input only when the unused trailing bits were zero: the one canonical form.
  if (bytes.toString("base64url") !== s) return bad("encoding", "base64url that is not the canonical encoding of its bytes");
  return { ok: true, value: bytes };
}

/** The text of bytes that are valid UTF-8; invalid sequences are refused, never replaced. */
export function decodeUtf8Strict(bytes: Uint8Array): StrictResult<string> {
  try {
    return { ok: true, value: UTF8.decode(bytes) };
  } catch {
    return bad("encoding", "the bytes are not valid UTF-8");
  }
}

/**
 * Parses JSON text, refusing duplicate member names at any depth and strings with unpaired surrogates.
 * Syntax is left to JSON.parse (native, no recursion limit of ours); a second, iterative pass over the
 * validated text looks at every string token, so arbitrarily deep input cannot overflow the stack.
 */
export function parseJsonStrict(text: string): StrictResult<unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return bad("malformed", "not JSON");
  }
  // One frame per open container: the member names seen so far (objects) or null (arrays).
  const stack: Array<Set<string> | null> = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */) {
      stack.push(new Set());
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      stack.push(null);
      expectKey = false;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      expectKey = false;
    } else if (c === 0x2c /* , */) {
      expectKey = stack[stack.length - 1] instanceof Set;
    } else if (c === 0x22 /* " */) {
      let j = i + 1;
      while (text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c /* \ */ ? 2 : 1;
      const token = text.slice(i, j + 1);
      // Only an escape can spell a name two ways or make a lone surrogate: the UTF-8 text itself cannot hold one.
      const decoded = token.includes("\\") ? (JSON.parse(token) as string) : token.slice(1, -1);
      if (UNPAIRED_SURROGATE.test(decoded)) return bad("encoding", "a string escapes an unpaired surrogate (not representable in UTF-8)");
      const frame = stack[stack.length - 1];
      if (expectKey && frame instanceof Set) {
        if (frame.has(decoded)) return bad("duplicate", `duplicate member name ${JSON.stringify(decoded)}`);
        frame.add(decoded);
        expectKey = false;
      }
      i = j;
    }
  }
  return { ok: true, value };
}

/** A base64url segment holding UTF-8 JSON: canonical base64url, strict UTF-8, no duplicate member names. */
export function decodeJsonSegmentStrict(segment: string): StrictResult<unknown> {
  const bytes = decodeB64urlStrict(segment);
  if (!bytes.ok) return bytes;
  const text = decodeUtf8Strict(bytes.value);
  if (!text.ok) return text;
  return parseJsonStrict(text.value);
}
