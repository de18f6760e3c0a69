"""Configured sizes: binary units as Kestra's (Micronaut's) readable bytes, bare numbers as bytes."""

from __future__ import annotations

import pytest

from lanner.sizes import format_size, parse_size


@pytest.mark.parametrize(("text", "size"), [
    ("10MB", 10 << 20), ("10mb", 10 << 20), ("10 MiB", 10 << 20), ("512KB", 512 << 10), ("1GB", 1 << 30),
    ("1.5KB", 1536), ("100", 100), (4096, 4096), ("2k", 2048),
])
def test_sizes_parse(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["lots", "10 TB", "", "-1", "0", True, None, "1.5.2MB"])
def test_invalid_sizes_name_the_accepted_forms(text):
    with pytest.raises(ValueError, match="a size such as 10MB, 512KB, 1GB or a number of bytes"):
        parse_size(text)


@pytest.mark.parametrize(("size", "text"), [(10 << 20, "10MB"), (1536, "1.5KB"), (100, "100B"), (1 << 30, "1GB")])
def test_sizes_format_back(size, text):
    assert format_size(size) == text
