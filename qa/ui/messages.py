"""What the app says when something cannot be done: one Chinese sentence per
reason, saying what happened and what to do next, never a server path.

The stages below raise English messages for the command line (``LoadError``,
``DraftError``, ``QueryError``, ``IndexProblem``, the question-file problems of
``qa.questions``); the CLI keeps them. The app translates them here, at its
boundary, so every tab reads the same sentence for the same reason and a new
reason needs one line in one table. A reason this table does not know gets a
general Chinese sentence (the English original goes to the server log, where
an administrator can read it), so nothing English or path-like reaches a user.
"""

from __future__ import annotations

import logging
import re

logger = logging.getLogger(__name__)

#: what the app accepts (the loaders' suffixes), named for people
FORMATS = ".txt、.md、.html、.docx、.pdf、.jsonl"

#: a file's reason (LoadError.reason, or a whole "path: reason") -> what the user reads
LOAD_REASONS: tuple[tuple[str, str], ...] = (
    (r"empty file", "文件是空的（0 字节）。请确认选对了文件，或重新导出后再上传。"),
    (r"no text \(whitespace only\)|no text$|no text\b(?! left)", "文件里只有空白，没有文字。请确认文件内容后再上传。"),
    (r"binary data, not text|looks like binary data",
     "文件内容不是文字（像是改了扩展名的图片、压缩包或程序）。请改用文字格式的文件（如 .txt、.docx）。"),
    (r"unknown text encoding", "无法识别文件的文字编码。请用 UTF-8 或 GB18030 编码另存后再上传。"),
    (r"zip bomb|refused: inflates", "文件解压后异常庞大，为安全起见已拒绝。请用 Word 或 WPS 重新另存为 .docx 后再上传。"),
    (r"not a Word document", "这不是有效的 Word 文档。请用 Word 或 WPS 打开后另存为 .docx 再上传。"),
    (r"corrupt(?: or truncated)? \.docx", "Word 文档已损坏或不完整。请用 Word 或 WPS 打开后另存为 .docx 再上传。"),
    (r"password-protected PDF", "PDF 设有密码，无法读取。请去除密码后再上传。"),
    (r"corrupt or truncated PDF", "PDF 已损坏或不完整。请重新导出 PDF 后再上传。"),
    (r"PDF has no extractable text", "PDF 中没有可提取的文字（可能是扫描件）。请先做文字识别（OCR），或上传文字版。"),
    (r"no usable lines", "JSONL 文件中没有可用的行：每行应是一个含 \"content\"（正文）字段的 JSON 对象。请检查格式后再上传。"),
    (r"unsupported (?:draft |file )?type", "不支持这种文件类型。请转换为 " + FORMATS + " 之一后再上传。"),
    (r"no text left after cleaning",
     "去掉网站模板文字（导航、版权声明等）后没有剩下正文。请上传报告正文，而不是网页外壳。"),
    (r"no such file", "文件没有传到服务器。请重新选择文件上传。"),
    (r"cannot read", "无法读取文件内容。请确认文件完整、能在本机打开，另存后再上传。"),
)

UNKNOWN_FILE = "无法读取这个文件。请确认它是完整的报告文件（" + FORMATS + "），另存后再上传。"

#: ``qa.drafting.draft.DraftError`` messages that are not a file's reason
DRAFT_REASONS: tuple[tuple[str, str], ...] = (
    (r"the draft is empty", "草稿是空的，没有可查找的文字。请粘贴草稿正文，或上传 .txt / .md / .docx 文件。"),
    (r"the draft has ([\d,]+) characters; the limit is ([\d,]+)",
     "草稿有 {0} 字，超过了 {1} 字的上限。请分成几部分分别分析，或在命令行用 python -m qa draft 处理整篇。"),
)

#: ``qa.questions.read_questions`` problems ("file:line: reason") -> Chinese
QUESTION_REASONS: tuple[tuple[str, str], ...] = (
    (r"not valid JSON", "不是有效的 JSON（请检查引号、逗号和括号）"),
    (r"expected a JSON object", "应是一个 JSON 对象（{…}）"),
    (r"missing field 'id'", "缺少 \"id\" 字段"),
    (r"missing field 'question'", "缺少 \"question\" 字段"),
    (r"duplicate id (.+?); line skipped", "编号 {0} 重复，已跳过此行"),
    (r"'evidence' and 'relevant' must be lists", "\"evidence\" 和 \"relevant\" 应是字符串列表"),
    (r"needs 'evidence' or 'relevant'", "缺少 \"evidence\" 或 \"relevant\"（评测需要知道哪段原文是答案）"),
    (r"'history' must be a list", "\"history\" 应是此前问题（字符串）的列表"),
    (r"unknown kind (\S+)", "未知的题型 {0}（已保留此题）"),
    (r"cannot read", "无法读取文件，请用 UTF-8 编码保存后重新上传"),
)

QUERY_EMPTY = "请输入问题或检索内容（至少包含一个字或词）。"

INDEX_PROBLEMS = {
    "BuildLocked": "另一项索引更新正在进行。请等它完成（通常不超过几分钟）后再试。",
    "IndexMissing": "找不到索引。请管理员运行 python -m qa build（或 make run）建好索引后再试。",
    "IndexMismatch": "索引与当前模型或设置不一致。请管理员运行 python -m qa build --rebuild 重建索引后再试。",
    "IndexCorrupt": "索引文件已损坏。请管理员运行 python -m qa build --rebuild 重建索引后再试。",
}
INDEX_PROBLEM = "索引暂不可用。请管理员运行 python -m qa build 后再试。"

#: absolute paths (POSIX or Windows) and the temp folders gradio stores uploads in
_PATH = re.compile(r"(?:[A-Za-z]:\\|/)(?:[^\s:：，,;；'\"()（）]+[/\\])+([^\s/\\:：，,;；'\"()（）]*)")


def strip_paths(text: str) -> str:
    """``text`` with every absolute path cut to its last part (the file name):
    a user never sees where the server keeps files."""
    return _PATH.sub(lambda m: m.group(1), str(text))


def _lookup(table: tuple[tuple[str, str], ...], text: str) -> str | None:
    for pattern, sentence in table:
        found = re.search(pattern, text)
        if found:
            return sentence.format(*(strip_paths(g) for g in found.groups()))
    return None


def load_reason(reason: object) -> str:
    """Why a file could not be read, in Chinese with what to do next
    (``reason``: a ``LoadError``, its ``.reason``, or the stored "path: reason")."""
    text = str(getattr(reason, "reason", reason))
    sentence = _lookup(LOAD_REASONS, text)
    if sentence is None:
        logger.warning("no Chinese message for the file problem %r", text)
        return UNKNOWN_FILE
    return sentence


def draft_error(exc: BaseException) -> str:
    """A ``DraftError`` (or the ``LoadError`` under it) for the drafting tab."""
    cause = exc.__cause__
    if cause is not None and hasattr(cause, "reason"):
        return "无法分析草稿：" + load_reason(cause)
    text = str(exc)
    sentence = _lookup(DRAFT_REASONS, text) or _lookup(LOAD_REASONS, text)
    if sentence is None:
        logger.warning("no Chinese message for the draft problem %r", text)
        sentence = "请检查草稿内容或文件格式（.txt / .md / .docx）后重试。"
    return "无法分析草稿：" + sentence


def query_error(exc: BaseException | None = None) -> str:
    """A ``QueryError``: the only one a user can cause is an empty question."""
    return QUERY_EMPTY


def index_problem(exc: BaseException) -> str:
    """An ``IndexProblem`` by its kind (the English one names server paths)."""
    for kind in type(exc).__mro__:
        if kind.__name__ in INDEX_PROBLEMS:
            return INDEX_PROBLEMS[kind.__name__]
    return INDEX_PROBLEM


def question_problem(problem: str) -> str:
    """A question-file problem "…/file.jsonl:3: reason" -> "file.jsonl 第 3 行：原因"."""
    text = strip_paths(problem)
    where = re.match(r"(.+?):(\d+): ", text)
    sentence = _lookup(QUESTION_REASONS, text) or "这一行无法读取，已跳过"
    if where:
        return f"{where.group(1)} 第 {where.group(2)} 行：{sentence}"
    name = re.match(r"(.+?): ", text)
    return f"{name.group(1)}：{sentence}" if name else sentence
