import { html, nothing } from 'lit';

/** The server names where a filter stopped parsing: "… syntax error at position N: problem" (N counts from 0). */
const at = /syntax error at position (\d+)/;

export function positionOf(message: string): number | null {
  const match = at.exec(message);
  return match ? Number(match[1]) : null;
}

/**
 * A filter error shown where it happened: the message, then the filter with the character at the position marked.
 * The text is bound as text (Lit escapes it); the mark is an element, never markup built from the filter.
 */
export function filterError(filter: string, message: string, testId = 'filter-error') {
  const position = positionOf(message);
  const shown =
    position === null || position > filter.length
      ? nothing
      : html`<code class="filter-at" aria-hidden="true">${filter.slice(0, position)}<mark>${filter.slice(position, position + 1) || ' '}</mark>${filter.slice(position + 1)}</code>`;
  return html`<div class="filter-error" data-testid=${testId} data-position=${position ?? ''}>
      <p class="error" role="alert">${message}</p>${shown}</div>`;
}
