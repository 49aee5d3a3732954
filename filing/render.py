"""Rendering a batch's forms on every core.

Layout is where a render spends its time, and WeasyPrint holds the interpreter while it lays
out, so threads would take turns: the forms are laid out in worker processes instead, forked
from this one so that they start with the fonts and stylesheets already loaded. Workers get
finished HTML and give back PDF bytes; they never touch the database.

Each job is a chunk of forms. A worker lays every form of its chunk out once and writes it twice:
as the form's own PDF, and as pages of the chunk's part of the merged printable PDF, whose font
subset it then writes once. The parent joins the parts with pypdf.
"""

from __future__ import annotations

import io
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass

from pypdf import PdfWriter
from weasyprint.document import Document

from approvals import pdf
from approvals.pdf import layout
from campusmedia.collection import few_collections

# Forms per job, at most: small enough that both cores stay busy to the end and the progress
# bar moves often, large enough that each part of the merged PDF carries one font subset for
# many pages. A small batch is cut into about four jobs per worker.
CHUNK = 25


@dataclass(frozen=True)
class Rendered:
    each: list[bytes]  # one PDF per form, in the order given (empty when not asked for)
    merged: bytes | None  # all forms in one PDF (None when not asked for)


def render_chunk(
    htmls: Sequence[str], stylesheets: Sequence[str], *, each: bool, merged: bool, max_pages: int
) -> tuple[list[bytes], bytes | None]:
    """Lay out ``htmls`` and write each form's PDF and/or one PDF of all of them."""
    documents: list[Document] = []
    pdfs: list[bytes] = []
    for html in htmls:
        document = layout(html, stylesheets, max_pages=max_pages)
        if each:
            pdfs.append(document.write_pdf())
        if merged:
            documents.append(document)
    joined = None
    if merged and documents:
        pages = [page for document in documents for page in document.pages]
        joined = documents[0].copy(pages).write_pdf()
    return pdfs, joined


def _worker_start() -> None:
    """A forked worker builds its own Pango font map: the parent's is not safe to share."""
    pdf._fonts.__dict__.clear()


def join_pdfs(parts: Sequence[bytes]) -> bytes:
    if len(parts) == 1:
        return parts[0]
    writer = PdfWriter()
    for part in parts:
        writer.append(io.BytesIO(part))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def render_forms(
    htmls: Sequence[str],
    stylesheets: Sequence[str],
    *,
    workers: int,
    each: bool = True,
    merged: bool = True,
    max_pages: int = 2,
    progress: Callable[[int], None] | None = None,
    chunk: int | None = None,
) -> Rendered:
    """Render every form of ``htmls`` with ``workers`` processes (1: in this process).

    ``progress(n)`` is called in this process as each chunk of ``n`` forms is done.
    ``max_pages`` is the page limit of one form.
    """
    chunk = chunk or max(1, min(CHUNK, len(htmls) // (max(workers, 1) * 4)))
    chunks = [list(htmls[i : i + chunk]) for i in range(0, len(htmls), chunk)]
    results: list[tuple[list[bytes], bytes | None]] = [([], None)] * len(chunks)
    # Frozen for the collector, this process's objects are not scanned while the forms render,
    # here or in the forked workers, where scanning would also copy every page it touches.
    with few_collections():
        if workers <= 1 or len(chunks) <= 1:
            for index, part in enumerate(chunks):
                results[index] = render_chunk(
                    part, stylesheets, each=each, merged=merged, max_pages=max_pages
                )
                if progress:
                    progress(len(part))
        else:
            _render_in_workers(
                chunks,
                results,
                stylesheets,
                workers=workers,
                each=each,
                merged=merged,
                max_pages=max_pages,
                progress=progress,
            )
    each_pdfs = [pdf for pdfs, _ in results for pdf in pdfs]
    parts = [part for _, part in results if part is not None]
    return Rendered(each=each_pdfs, merged=join_pdfs(parts) if merged and parts else None)


def _render_in_workers(
    chunks: list[list[str]],
    results: list[tuple[list[bytes], bytes | None]],
    stylesheets: Sequence[str],
    *,
    workers: int,
    each: bool,
    merged: bool,
    max_pages: int,
    progress: Callable[[int], None] | None,
) -> None:
    """Fill ``results`` (one entry per chunk) from a pool of forked worker processes."""
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        max_workers=min(workers, len(chunks)), mp_context=context, initializer=_worker_start
    ) as pool:
        pending: dict[Future[tuple[list[bytes], bytes | None]], int] = {
            pool.submit(
                render_chunk, part, list(stylesheets), each=each, merged=merged, max_pages=max_pages
            ): index
            for index, part in enumerate(chunks)
        }
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                index = pending.pop(future)
                results[index] = future.result()
                if progress:
                    progress(len(chunks[index]))
