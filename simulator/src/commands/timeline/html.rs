//! The page: one self-contained HTML file, its style and script inline
//! (`page.css`, `page.js`, hand-written, no framework), its data inline as
//! JSON. It fetches nothing: it opens from a CI artifact or an e-mail with
//! no network.

use super::data::Page;

const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");

/// The page of `page`'s run.
pub fn render(page: &Page) -> String {
    let data = serde_json::to_string(page).expect("page data of numbers and strings serializes");
    let title = escape_html(&format!("raftsim timeline: {}", page.title));
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width\">\n<title>{title}</title>\n\
         <style>\n{STYLE}</style>\n</head>\n<body>\n{BODY}\
         <script type=\"application/json\" id=\"timeline-data\">{}</script>\n\
         <script>\n{SCRIPT}</script>\n</body>\n</html>\n",
        escape_for_script(&data)
    )
}

/// The page's skeleton; the script fills it from the data.
const BODY: &str = r#"<header>
<h1 id="title"></h1>
<div id="outcome"></div>
<details><summary>parameters</summary><pre id="params"></pre></details>
<ul id="notes"></ul>
<div id="errors" hidden></div>
</header>
<nav id="toolbar">
<button id="zoom-out" title="zoom out (or the wheel)">&minus;</button>
<button id="zoom-in" title="zoom in (or the wheel)">+</button>
<button id="zoom-fit" title="the whole run">fit</button>
<button id="zoom-violation" title="the moments before the violation">violation</button>
<span id="range"></span>
<span id="filters"></span>
</nav>
<main>
<div class="view"><canvas id="timeline"></canvas></div>
<p class="help">Drag to pan, wheel to zoom, shift-drag to zoom to a stretch, hover for details.
Lanes: roles (<span class="key leader">leader</span> <span class="key candidate">candidate</span>
<span class="key follower">follower</span> <span class="key down">down</span> <span class="key paused">paused</span>
<span class="key isolated">cut off</span>), messages (<span class="key lost">lost &times;</span>
<span class="key duplicated">duplicated</span> <span class="key held">held</span>), client operations
(<span class="key ok">ok</span> <span class="key fail">fail</span> <span class="key unknown">unknown</span>).</p>
<section id="linearizability" hidden>
<h2>Linearizability: the history of the failing key</h2>
<p class="help">Each client's operations on the key, from invocation to completion.
<span class="key prefix">green</span>: the longest linearizable prefix, numbered in linearization order;
<span class="key stuck">red</span>: the operations that cannot be ordered after it; grey: the rest.
An operation of unknown outcome may take effect any time after its invocation (its bar fades out).</p>
<div class="view"><canvas id="panel"></canvas></div>
<pre id="explanation"></pre>
</section>
<section id="violations"></section>
<section><h2>Faults</h2><table id="faults"></table></section>
<section><h2>Messages</h2><table id="counts"></table></section>
</main>
<div id="tip" hidden></div>
"#;

/// Text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// JSON made safe inside a `<script>` element: `<`, `>` and `&` only occur
/// in JSON strings, where their `\u` escapes mean the same, and a page must
/// not end its script early at a `</script>` inside a label.
fn escape_for_script(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closing_script_tag_in_the_data_stays_inside_its_string() {
        let escaped = escape_for_script(r#"{"label":"</script><b>&"}"#);
        assert!(!escaped.contains('<'));
        let back: serde_json::Value = serde_json::from_str(&escaped).unwrap();
        assert_eq!(back["label"], "</script><b>&");
    }
}
