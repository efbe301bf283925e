// Renders a step summary (GitHub-flavoured Markdown with a Mermaid block) to
// a standalone HTML page styled like GitHub's job summary, for a screenshot
// in headless Chromium. Usage: node render.mjs IN.md OUT.html
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { marked } from "marked";

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error("usage: node render.mjs IN.md OUT.html");
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, "node_modules");

// Mermaid blocks become <pre class="mermaid"> for mermaid.js to draw, as
// GitHub does; everything else is GitHub-flavoured Markdown.
const renderer = {
  code({ text, lang }) {
    if (lang === "mermaid") {
      return `<pre class="mermaid">${text.replace(/</g, "&lt;")}</pre>\n`;
    }
    return false;
  },
};
marked.use({ gfm: true, renderer });
const body = marked.parse(readFileSync(input, "utf8"));

const css = readFileSync(join(modules, "github-markdown-css", "github-markdown-light.css"), "utf8");
const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>deploy-check step summary</title>
<style>${css}
body { background: #f6f8fa; margin: 0; padding: 24px; }
.frame { max-width: 980px; margin: 0 auto; background: #fff; border: 1px solid #d0d7de; border-radius: 6px; }
.frame > header { padding: 12px 24px; border-bottom: 1px solid #d0d7de; font: 600 14px -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; color: #1f2328; }
.markdown-body { padding: 8px 24px 16px; font-size: 14px; }
.markdown-body pre.mermaid { background: #fff; text-align: center; }
</style></head>
<body><div class="frame"><header>deploy-check summary</header>
<article class="markdown-body">
${body}
</article></div>
<script src="file://${join(modules, "mermaid", "dist", "mermaid.min.js")}"></script>
<script>mermaid.initialize({ startOnLoad: true, theme: "default", gantt: { useWidth: 900 } });</script>
</body></html>
`;
writeFileSync(output, page);
