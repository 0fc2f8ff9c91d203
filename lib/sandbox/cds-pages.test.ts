import { describe, expect, it } from "vitest";
import { renderMarkdownLite } from "./cds-pages";

describe("card detail markdown-lite", () => {
  it("shows raw HTML in the markdown as text, never as markup", () => {
    const html = renderMarkdownLite('<script>alert(1)</script> and <img src=x onerror="alert(2)">');
    expect(html).not.toMatch(/<script|<img/i);
    expect(html).toContain("&#60;script&#62;alert(1)&#60;/script&#62;");
  });

  it("formats paragraphs, bullet lists, bold, italic and code", () => {
    const html = renderMarkdownLite("Baseline screening is **missing**:\n- TB (`71773-6`)\n- hepatitis B\n\nCheck *before* the first dose.");
    expect(html).toBe(
      "<p>Baseline screening is <strong>missing</strong>:</p>\n<ul><li>TB (<code>71773-6</code>)</li><li>hepatitis B</li></ul>\n<p>Check <em>before</em> the first dose.</p>",
    );
  });

  it("keeps numbered lists and line breaks", () => {
    expect(renderMarkdownLite("1. first\n2. second")).toBe("<ol><li>first</li><li>second</li></ol>");
    expect(renderMarkdownLite("line one\nline two")).toBe("<p>line one<br>line two</p>");
  });

  it("links only http(s) URLs, opening them in a new tab without an opener", () => {
    expect(renderMarkdownLite("[Rinvoq label](https://dailymed.nlm.nih.gov/dailymed/drugInfo.cfm?setid=a&b=c)")).toBe(
      '<p><a href="https://dailymed.nlm.nih.gov/dailymed/drugInfo.cfm?setid=a&#38;b=c" target="_blank" rel="noopener noreferrer">Rinvoq label</a></p>',
    );
    const scripted = renderMarkdownLite("[click](javascript:alert(1))");
    expect(scripted).not.toContain("<a");
    expect(scripted).toContain("click");
  });

  it("cannot break out of a link's href with a quote", () => {
    const html = renderMarkdownLite('[x](https://a.example/"onmouseover="alert(1))');
    expect(html).not.toContain('"onmouseover');
    expect(html).toContain("&#34;onmouseover=&#34;");
  });

  it("treats asterisks and backticks inside a code span as text", () => {
    expect(renderMarkdownLite("`**not bold** <b>`")).toBe("<p><code>**not bold** &#60;b&#62;</code></p>");
  });
});
