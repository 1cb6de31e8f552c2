"""loginlens core: intake, timeline, analysis and presentation.

Importing it sets polars' allocator (jemalloc) to keep freed pages for ten seconds, jemalloc's
own default, unless the environment says otherwise: polars builds it to give them back sooner,
and parsing a file frees and takes again column after column of tens of megabytes, each then
faulted in and zeroed anew by the kernel (half a log ingest's page faults). It takes effect
where polars is imported after this package, as loginlens itself imports it.
"""

import os

os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:10000,muzzy_decay_ms:10000")

__version__ = "0.1.0"
