"""For tests: decode what the viewer sends with nothing but the schema a channel advertises.

Foxglove's protobuf schemas travel as a serialized FileDescriptorSet; :func:`protobuf_decoder`
builds the message class from it with the protobuf runtime alone, so a test reads the bytes as
any Foxglove client would, not through the SDK that wrote them.
"""

from __future__ import annotations

from typing import Callable

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory


def protobuf_decoder(schema_name: str, schema_data: bytes) -> Callable[[bytes], object]:
    files = descriptor_pb2.FileDescriptorSet.FromString(schema_data).file
    pool = descriptor_pool.DescriptorPool()
    pending = list(files)
    while pending:  # add each file after the files it depends on
        added = False
        for f in list(pending):
            try:
                pool.Add(f)
            except TypeError:
                continue
            pending.remove(f)
            added = True
        if not added:
            raise ValueError(f'schema {schema_name}: unresolvable dependencies in {[f.name for f in pending]}')
    cls = message_factory.GetMessageClass(pool.FindMessageTypeByName(schema_name))
    return cls.FromString
