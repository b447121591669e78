"""The `ailas` command-line client of the AILAS Fair-Trade Voice Registry."""
