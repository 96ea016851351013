"""Count the rows of the rest of a text dataset file past its parse bound.

Past dataset_formats.FULL_PARSE_BYTES a file is read in large blocks and
only its line breaks are counted. That runs near the speed of reading
the file, but the content is not checked, so the counts are estimates.
"""

from typing import BinaryIO

BLOCK_BYTES = 8 * 1024 * 1024


def count_lines(stream: BinaryIO) -> int:
    """Count the lines from the position of stream to its end.

    A last line without a line break counts too. Blank lines count as
    lines, so a JSON Lines file with blank lines is overcounted.
    """
    lines = 0
    last = b"\n"
    while block := stream.read(BLOCK_BYTES):
        lines += block.count(b"\n")
        last = block[-1:]
    return lines + (last != b"\n")


def count_csv_records(stream: BinaryIO) -> int:
    """Count CSV records from a record boundary to the end of stream.

    A line break after an odd number of double quotes is inside a quoted
    field and does not end a record. That is exact for RFC 4180 quoting,
    "" escapes included. It is wrong for a quote inside an unquoted
    field, which Python's csv reads as a plain character, and blank
    lines count as records although csv skips them.
    """
    records = 0
    quoted = False
    last = b"\n"
    while block := stream.read(BLOCK_BYTES):
        last = block[-1:]
        if b'"' not in block:
            records += 0 if quoted else block.count(b"\n")
            continue
        # Splitting at quotes alternates outside and inside parts,
        # starting with the state the previous block ended in.
        parts = block.split(b'"')
        outside = parts[1::2] if quoted else parts[0::2]
        records += b"".join(outside).count(b"\n")
        quoted ^= len(parts) % 2 == 0
    return records + (last != b"\n" and not quoted)
