"""README.md and README.zh-CN.md give a reader the same things to copy: the same shell commands in
the same order (their `# comments` may be translated), the same non-shell code blocks byte for
byte, a link to each other in their first lines, and in-page links that land on a heading or an
explicit <a id> of the same file. Standard library only; run from the repository root:
python tests/scripts/test_readme_languages.py

Shell blocks are fenced blocks whose info string is sh, bash, shell or empty. Their command lines
are what a shell would run: a trailing `# comment` outside quotes is cut, blank and comment-only
lines are dropped, backslash continuations are joined into one line. Quotes are tracked within a
line only (the READMEs have no multi-line quoted strings). Anchors follow GitHub's slug rules:
lowercase, punctuation and symbols removed (Chinese characters kept), each space becomes '-',
repeated headings get -1, -2, ..."""
import re
import unicodedata
import unittest
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parents[2]
EN = "README.md"
ZH = "README.zh-CN.md"
SHELL = {"", "sh", "bash", "shell"}
OPEN_FENCE = re.compile(r"^( *)(`{3,}|~{3,})(.*)$")
CLOSE_FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*$")
HEADING = re.compile(r"^ {0,3}(#{1,6})(?:\s+(.*?))?\s*$")
EXPLICIT_ANCHOR = re.compile(r"""<a\s+(?:[^>]*\s)?(?:id|name)\s*=\s*["']([^"']+)["']""", re.I)
ANCHOR_LINK = re.compile(r"\]\(#([^)\s]*)\)")


def fenced_blocks(text):
    """[(info, [(line number, line)], fence line number)] for every fenced code block; the body
    lines lose the opening fence's indentation (a block inside a list item is indented)."""
    lines = text.split("\n")
    blocks, i = [], 0
    while i < len(lines):
        m = OPEN_FENCE.match(lines[i])
        if not m or (m.group(2)[0] == "`" and "`" in m.group(3)):
            i += 1
            continue
        indent, fence, info = len(m.group(1)), m.group(2), m.group(3).strip()
        start, body = i + 1, []
        i += 1
        while i < len(lines):
            close = CLOSE_FENCE.match(lines[i])
            if close and close.group(1)[0] == fence[0] and len(close.group(1)) >= len(fence):
                break
            line = lines[i]
            cut = min(indent, len(line) - len(line.lstrip(" ")))
            body.append((i + 1, line[cut:]))
            i += 1
        blocks.append((info.split()[0].lower() if info else "", body, start))
        i += 1
    return blocks


def outside_fences(text):
    """The document's lines as (line number, line), fenced blocks (fences included) left out."""
    inside = set()
    for _, body, start in fenced_blocks(text):
        inside.update(range(start, start + len(body) + 2))
    return [(n, line) for n, line in enumerate(text.split("\n"), 1) if n not in inside]


def split_comment(line):
    """(the line without a trailing shell comment, whether it had one). A '#' starts a comment
    only outside quotes, unescaped, and at the start of a word."""
    quote, i = None, 0
    while i < len(line):
        c = line[i]
        if quote == "'":
            if c == "'":
                quote = None
        elif c == "\\":
            i += 1
        elif quote == '"':
            if c == '"':
                quote = None
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip(), True
        i += 1
    return line.rstrip(), False


def commands(body):
    """The command lines of one shell block: [(command, line number where it starts)]."""
    out, pending, start = [], None, None
    for number, raw in body:
        code, commented = split_comment(raw)
        backslashes = len(code) - len(code.rstrip("\\"))
        continued = not commented and backslashes % 2 == 1
        if continued:
            code = code[:-1].rstrip()
        if pending is None:
            pending, start = code, number
        elif code.strip():
            pending = (pending + " " + code.strip()) if pending.strip() else code
        if not continued:
            if pending.strip():
                out.append((pending, start))
            pending = None
    if pending is not None and pending.strip():
        out.append((pending, start))
    return out


def shell_commands(text):
    return [c for info, body, _ in fenced_blocks(text) if info in SHELL for c in commands(body)]


def other_blocks(text):
    """[(info, body text, fence line number)] of every fenced block that is not shell."""
    return [(info, "\n".join(line for _, line in body), start)
            for info, body, start in fenced_blocks(text) if info not in SHELL]


def command_mismatch(a, b, name_a=EN, name_b=ZH):
    """None when the two [(command, line)] lists agree, else a message naming the first
    difference, the file and line of each side, and which file alone has the command."""
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else None
        y = b[i] if i < len(b) else None
        if x and y and x[0] == y[0]:
            continue
        others_a = {c for c, _ in a}
        others_b = {c for c, _ in b}
        lines = [f"command {i + 1} differs ({name_a} has {len(a)} commands, {name_b} {len(b)}):"]
        for name, cmd, others, other in ((name_a, x, others_b, name_b), (name_b, y, others_a, name_a)):
            if cmd is None:
                lines.append(f"  {name}: (no command {i + 1})")
            else:
                only = "" if cmd[0] in others else f"   <- only in {name}, nowhere in {other}"
                lines.append(f"  {name}:{cmd[1]}: {cmd[0]}{only}")
        return "\n".join(lines)
    return None


def block_mismatch(a, b, name_a=EN, name_b=ZH):
    """None when the two other_blocks lists are identical, else the first differing block."""
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else None
        y = b[i] if i < len(b) else None
        if x and y and x[:2] == y[:2]:
            continue
        lines = [f"non-shell block {i + 1} differs ({name_a} has {len(a)}, {name_b} {len(b)}):"]
        if x and y:
            xs, ys = x[1].split("\n"), y[1].split("\n")
            k = next((k for k in range(max(len(xs), len(ys)))
                      if k >= len(xs) or k >= len(ys) or xs[k] != ys[k]), 0)
            for name, (info, _, start), body in ((name_a, x, xs), (name_b, y, ys)):
                line = body[k] if k < len(body) else "(block ends)"
                lines.append(f"  {name}:{start + 1 + k}: ```{info} block, line {k + 1}: {line!r}")
        else:
            for name, blk in ((name_a, x), (name_b, y)):
                lines.append(f"  {name}: " + (f"```{blk[0]} block at line {blk[2]}" if blk else "(none)"))
        return "\n".join(lines)
    return None


def slug(heading):
    """GitHub's anchor for a heading's text."""
    text = re.sub(r"<[^>]+>", "", heading)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text).strip().lower()
    out = []
    for c in text:
        if c == " ":
            out.append("-")
        elif c in "-_" or unicodedata.category(c)[0] in "LMN":
            out.append(c)
    return "".join(out)


def anchors(text):
    """Every anchor the rendered page has: heading slugs (numbered when repeated) and <a id>s."""
    found, seen = set(), {}
    for _, line in outside_fences(text):
        m = HEADING.match(line)
        if m:
            title = re.sub(r"\s+#+\s*$", "", m.group(2) or "")
            base = slug(title)
            n = seen.get(base, 0)
            seen[base] = n + 1
            found.add(base if n == 0 else f"{base}-{n}")
        found.update(EXPLICIT_ANCHOR.findall(line))
    return found


def anchor_links(text):
    """[(line number, anchor)] of every in-page link `](#anchor)` outside code blocks."""
    return [(n, unquote(a)) for n, line in outside_fences(text) for a in ANCHOR_LINK.findall(line)]


def read(name):
    path = ROOT / name
    assert path.is_file(), f"{path} is missing"
    return path.read_text(encoding="utf-8")


class ExtractorTest(unittest.TestCase):
    """The extractor itself, on small made-up blocks."""

    def cmds(self, block):
        return [c for c, _ in shell_commands(block)]

    def test_a_trailing_comment_is_cut_and_comment_only_and_blank_lines_dropped(self):
        block = "```sh\n# set up\n\nsam build     # build it\nsam deploy#not-a-comment\n```\n"
        self.assertEqual(self.cmds(block), ["sam build", "sam deploy#not-a-comment"])

    def test_a_hash_inside_quotes_or_escaped_is_kept(self):
        block = ("```bash\ncurl -d '{\"a\":\"x # y\"}' # post it\necho \"# not a comment\"\n"
                 "echo \\# kept\n```\n")
        self.assertEqual(self.cmds(block), ["curl -d '{\"a\":\"x # y\"}'", 'echo "# not a comment"',
                                            "echo \\# kept"])

    def test_continuations_are_joined(self):
        block = "```sh\nsam deploy --region cn-north-1 \\\n  A=1 \\\n  B=2\nls\n```\n"
        self.assertEqual(shell_commands(block), [("sam deploy --region cn-north-1 A=1 B=2", 2), ("ls", 5)])

    def test_an_indented_fence_and_an_empty_info_string_count_as_shell(self):
        text = "1. step:\n\n   ```sh\n   aws s3 ls  # list\n   ```\n\n```\nplain\n```\n\n```json\n{}\n```\n"
        self.assertEqual(self.cmds(text), ["aws s3 ls", "plain"])
        self.assertEqual([(i, b) for i, b, _ in other_blocks(text)], [("json", "{}")])

    def test_a_command_changed_in_one_file_is_reported_with_its_file(self):
        en = shell_commands("```sh\nsam build\nsam deploy --guided  # answer\n```\n")
        zh = shell_commands("```sh\nsam build\nsam deploy --guide   # 回答\n```\n")
        self.assertIsNone(command_mismatch(en, en))
        message = command_mismatch(en, zh)
        self.assertIn("command 2 differs", message)
        self.assertIn(f"{EN}:3: sam deploy --guided   <- only in {EN}", message)
        self.assertIn(f"{ZH}:3: sam deploy --guide   <- only in {ZH}", message)

    def test_github_slugs(self):
        self.assertEqual(slug("Revocation: what logout guarantees"), "revocation-what-logout-guarantees")
        self.assertEqual(slug("`GET /auth/me` (behind the authorizer)"), "get-authme-behind-the-authorizer")
        self.assertEqual(slug("撤销：登出能保证什么"), "撤销登出能保证什么")
        self.assertEqual(slug("`sam local invoke`"), "sam-local-invoke")
        self.assertEqual(anchors("# A\n## A\n```\n# A\n```\n<a id=\"x-y\"></a>\n"), {"a", "a-1", "x-y"})


class ReadmeLanguagesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.text = {EN: read(EN), ZH: read(ZH)}

    def test_the_same_shell_commands_in_the_same_order(self):
        en, zh = shell_commands(self.text[EN]), shell_commands(self.text[ZH])
        self.assertTrue(en, f"no shell commands found in {EN}")
        message = command_mismatch(en, zh)
        if message:
            self.fail(message)

    def test_the_same_non_shell_code_blocks_in_the_same_order(self):
        en, zh = other_blocks(self.text[EN]), other_blocks(self.text[ZH])
        self.assertTrue(en, f"no non-shell blocks found in {EN}")
        message = block_mismatch(en, zh)
        if message:
            self.fail(message)

    def test_each_links_to_the_other_in_its_first_three_lines(self):
        for name, other in ((EN, ZH), (ZH, EN)):
            head = "\n".join(self.text[name].split("\n")[:3])
            with self.subTest(file=name):
                if not re.search(r"\]\((?:\./)?" + re.escape(other) + r"\)", head):
                    self.fail(f"{name} does not link to {other} in its first 3 lines:\n{head}")

    def test_every_in_page_link_lands_on_an_anchor_of_the_same_file(self):
        for name in (EN, ZH):
            with self.subTest(file=name):
                have = anchors(self.text[name])
                broken = [f"{name}:{n}: #{a}" for n, a in anchor_links(self.text[name]) if a not in have]
                if broken:
                    self.fail("links to anchors that do not exist:\n" + "\n".join(broken))


if __name__ == "__main__":
    unittest.main()
