/**
 * Server-rendered HTML without a template engine: a tagged template that escapes every interpolated value
 * unless it is already `SafeHtml`. Escaping is the default, so a merchant's name or purpose (chosen by the
 * merchant, shown to the person) can never become markup.
 */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** Marks trusted markup (our own, or a library's SVG) as safe to insert as is. */
export const raw = (markup: string): SafeHtml => new SafeHtml(markup);

export function escapeHtml(value: unknown): string {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

function render(value: unknown): string {
  if (value === undefined || value === null || value === false) return "";
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join("");
  return escapeHtml(value);
}

/** `html\`<p>${name}</p>\``: values escaped, arrays joined, `SafeHtml` inserted, null/undefined/false dropped. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new SafeHtml(out);
}
