"""An S3 bucket of its own on moto's server on 127.0.0.1, for the tests of a province's store on an object
store: ``with s3_bucket("name") as url`` gives the ``s3://…`` URL sgs takes (credentials set for the block).

moto keeps one in-memory S3 per process, so each test names its own bucket. ``moto[server]`` comes with the
test extra: on CI its absence is a failure, elsewhere a skip with the reason."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

ON_CI = os.environ.get("CI", "").lower() == "true"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@contextmanager
def s3_bucket(bucket: str) -> Iterator[str]:
    if ON_CI:
        import moto.server as moto_server
    else:
        moto_server = pytest.importorskip("moto.server", reason="moto[server] 未安装：S3 存储测试跳过")
    import pyarrow.fs as pafs

    with pytest.MonkeyPatch.context() as mp:
        for k, v in CREDENTIALS.items():
            mp.setenv(k, v)
        server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            url = f"s3://{bucket}/sgs?endpoint_override={host}:{port}&scheme=http&region=us-east-1"
            pafs.FileSystem.from_uri(url + "&allow_bucket_creation=true")[0].create_dir(bucket)
            yield url
        finally:
            server.stop()
