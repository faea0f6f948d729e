"""Which HTML elements are blocks, headings, lists, images, or never article text: one list for every module."""

# Never article text: code, embedded documents, form controls, metadata. (Page chrome such as <nav>, <aside>
# and <footer> is not here: it leaves the article region in `content`, which keeps its links.)
DROP_TAGS = frozenset(
    {
        "script", "style", "template", "iframe", "object", "embed", "svg", "canvas", "button",
        "input", "select", "textarea", "title", "meta", "link", "dialog", "audio", "video", "map", "noframes",
    }
)  # fmt: skip
HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
IMAGE_TAGS = frozenset({"img", "picture", "figure"})
LIST_TAGS = frozenset({"ul", "ol", "dl"})
PARAGRAPH_TAGS = frozenset({"p", "pre", "blockquote", "figcaption", "li", "dd", "dt", "address"})
# Elements that start a new block; everything else is inline and belongs to the text around it.
BLOCK_TAGS = (
    HEADING_TAGS
    | LIST_TAGS
    | PARAGRAPH_TAGS
    | {"div", "section", "article", "main", "header", "footer", "nav", "aside", "table", "tbody", "thead",
       "tfoot", "tr", "td", "th", "caption", "figure", "picture", "center", "hr", "body", "html", "details",
       "summary", "fieldset", "noscript", "form"}
)  # fmt: skip
