// A tiny element builder. Text always goes in as text nodes: nothing a visitor or an agent
// types is ever parsed as HTML.

type Attributes = Record<string, string | number | boolean | EventListener | undefined>;
type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = String(value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) if (child) element.append(child);
  return element;
}

/** The text with its web addresses as links (http and https only, opened in a new tab). */
export function linkified(text: string): DocumentFragment {
  const fragment = document.createDocumentFragment();
  let from = 0;
  for (const match of text.matchAll(/\bhttps?:\/\/[^\s<>"']+/gi)) {
    const url = match[0].replace(/[.,;:!?)\]}'"]+$/, "");
    const at = match.index ?? 0;
    fragment.append(text.slice(from, at), link(url));
    from = at + url.length;
  }
  fragment.append(text.slice(from));
  return fragment;
}

function link(url: string): Node {
  try {
    const href = new URL(url);
    if (href.protocol !== "http:" && href.protocol !== "https:") return document.createTextNode(url);
    return h("a", { href: href.href, target: "_blank", rel: "noopener noreferrer nofollow ugc" }, url);
  } catch {
    return document.createTextNode(url);
  }
}
