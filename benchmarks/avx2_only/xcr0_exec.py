"""The program gdb starts: execs the real command line, which gdb cannot pass through unmangled.

gdb turns arguments into a command string (newlines and quotes inside `python -c CODE` do not
survive), so the real argv travels as JSON in MBJA_XCR0_ARGV and this module replaces itself
with it; gdb follows the exec and keeps masking XGETBV in the new image.
"""
import json
import os

argv = json.loads(os.environ.pop("MBJA_XCR0_ARGV"))
os.execv(argv[0], argv)
