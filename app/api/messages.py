"""Chinese sentences for FastAPI's validation errors, by pydantic error type and its context.

The English sentence is pydantic's own message; :func:`validation_zh` gives its Chinese for the types the API's
parameters and bodies can produce, and a generic sentence naming the input for any other type.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_ZH: dict[str, str] = {
    "missing": "缺少必填项 {name}",
    "int_parsing": "{name} 应为整数",
    "int_type": "{name} 应为整数",
    "int_from_float": "{name} 应为整数",
    "float_parsing": "{name} 应为数字",
    "float_type": "{name} 应为数字",
    "decimal_parsing": "{name} 应为数字",
    "finite_number": "{name} 应为有限的数字",
    "bool_parsing": "{name} 应为 true 或 false",
    "bool_type": "{name} 应为 true 或 false",
    "string_type": "{name} 应为文本",
    "greater_than": "{name} 应大于 {gt}",
    "greater_than_equal": "{name} 应不小于 {ge}",
    "less_than": "{name} 应小于 {lt}",
    "less_than_equal": "{name} 应不大于 {le}",
    "multiple_of": "{name} 应为 {multiple_of} 的倍数",
    "string_too_short": "{name} 至少 {min_length} 个字符",
    "string_too_long": "{name} 最多 {max_length} 个字符",
    "string_pattern_mismatch": "{name} 的格式不符合要求",
    "too_short": "{name} 至少 {min_length} 项",
    "too_long": "{name} 最多 {max_length} 项",
    "enum": "{name} 应为以下之一：{expected}",
    "literal_error": "{name} 应为以下之一：{expected}",
    "json_invalid": "请求体不是有效的 JSON",
    "json_type": "请求体不是有效的 JSON",
    "date_parsing": "{name} 应为日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "{name} 应为日期（YYYY-MM-DD）",
    "date_type": "{name} 应为日期（YYYY-MM-DD）",
    "datetime_parsing": "{name} 应为日期时间（ISO 8601）",
    "datetime_from_date_parsing": "{name} 应为日期时间（ISO 8601）",
    "datetime_type": "{name} 应为日期时间（ISO 8601）",
    "uuid_parsing": "{name} 应为 UUID",
    "list_type": "{name} 应为列表",
    "dict_type": "{name} 应为对象",
    "model_attributes_type": "{name} 应为对象",
    "model_type": "{name} 应为对象",
    "extra_forbidden": "不接受的字段 {name}",
}
"""Chinese by pydantic error type; ``{name}`` is the input, the other fields come from the error's context."""

GENERIC_ZH = "{name} 的值无效"
"""Any other validation error."""


def _expected(value: object) -> str:
    """pydantic's list of choices ("'a', 'b' or 'c'") with the Chinese enumeration comma."""
    return "、".join(part for part in re.split(r", | or ", str(value)) if part)


def validation_zh(error: Mapping[str, Any], name: str) -> str:
    """The Chinese sentence of one pydantic error; ``name`` is the input at fault (its dotted location)."""
    ctx = {k: str(v) for k, v in (error.get("ctx") or {}).items()}
    if "expected" in ctx:
        ctx["expected"] = _expected(ctx["expected"])
    template = _ZH.get(str(error.get("type")), GENERIC_ZH)
    try:
        return template.format(**{**ctx, "name": name or "请求"})
    except (KeyError, IndexError):
        return GENERIC_ZH.format(name=name or "请求")
