"""Fetching a file over HTTP(S) into a `.part` file that resumes; every network failure is a clear error.

A stalled or reset connection keeps the `.part` file for the next attempt; a
server that sends more than the published size (or never stops) is cut off;
redirects go only to https (or stay on the same http host) and only to hosts
the manifest or the user named.
"""

from __future__ import annotations

import http.client
import os
import urllib.error
import urllib.request
from collections.abc import Generator
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from ..progress import Progress

CHUNK = 1 << 20
MAX_UNSIZED_DOWNLOAD = 8 << 30  # no official file is larger; a download without a known size stops here


class TransferError(Exception):
    pass


class _GuardedRedirects(urllib.request.HTTPRedirectHandler):
    def __init__(self, allowed_hosts: set[str]):
        super().__init__()
        self.allowed_hosts = allowed_hosts

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        old, new = urlsplit(req.full_url), urlsplit(newurl)
        same_http_host = new.scheme == old.scheme == "http" and new.hostname == old.hostname
        if (new.scheme != "https" and not same_http_host) or new.hostname not in self.allowed_hosts:
            raise TransferError(
                f"refused a redirect from {old.hostname} to {newurl}: downloads follow redirects only to "
                f"https on {', '.join(sorted(self.allowed_hosts))}"
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch(
    url: str, part: Path, expected_size: int | None, allowed_hosts: set[str], timeout: float
) -> Generator[Progress, None, None]:
    """Download `url` into `part`, resuming what it holds; closing the generator keeps it for later."""
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    opener = urllib.request.build_opener(_GuardedRedirects(allowed_hosts | {urlsplit(url).hostname or ""}))
    try:
        response = opener.open(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # already complete
            yield Progress(have, have, "downloading")
            return
        raise TransferError(f"download failed: HTTP {exc.code} {exc.reason} from {url}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise TransferError(f"download failed: {getattr(exc, 'reason', None) or exc} ({url})") from None
    limit = expected_size or MAX_UNSIZED_DOWNLOAD
    with response:
        resumed = response.status == 206
        have = have if resumed else 0
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None and length.isdigit() else expected_size
        if total is not None and total > limit:
            raise TransferError(
                f"the server announces {total:,} bytes, more than the expected {limit:,}: refused"
            )
        done = yield from _receive(response, part, resumed, have, total, limit)
    if total is not None and done < total:
        raise TransferError(f"download interrupted at {done:,} of {total:,} bytes; run it again to resume")


def _receive(
    response: http.client.HTTPResponse, part: Path, resumed: bool, done: int, total: int | None, limit: int
) -> Generator[Progress, None, int]:
    with open(part, "ab" if resumed else "wb") as handle:
        yield Progress(done, total, "downloading")
        while True:
            try:
                chunk = response.read1(CHUNK)  # what has arrived, so a stall loses nothing received
            except (OSError, http.client.HTTPException) as exc:  # a stall (timeout) or a reset connection
                handle.flush()
                reason = str(exc) or type(exc).__name__
                raise TransferError(
                    f"download interrupted at {done:,} bytes ({reason}); the part already received is kept: "
                    "run it again to resume"
                ) from None
            if not chunk:
                break
            done += len(chunk)
            if done > limit:
                handle.close()
                part.unlink(missing_ok=True)
                raise TransferError(
                    f"the server sent more than the expected {limit:,} bytes: stopped and discarded"
                )
            handle.write(chunk)
            yield Progress(done, total, "downloading")
        handle.flush()
        os.fsync(handle.fileno())
    return done
