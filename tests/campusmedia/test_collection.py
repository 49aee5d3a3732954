"""``few_collections``: the collector's settings come back as they were, whatever happens."""

from __future__ import annotations

import gc

import pytest

from campusmedia.collection import BULK_THRESHOLD, few_collections


def test_inside_the_block_old_objects_are_frozen_and_collections_are_rarer():
    before = gc.get_threshold()
    kept = [object() for _ in range(10)]
    with few_collections():
        assert gc.get_freeze_count() >= len(kept)
        assert gc.get_threshold() == (BULK_THRESHOLD, *before[1:])
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_settings_come_back_after_an_error():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), few_collections():
        raise RuntimeError("boom")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_garbage_made_inside_the_block_is_still_collected():
    class Node:
        pass

    with few_collections():
        node = Node()
        node.self = node  # a cycle only the collector can free
        del node
        assert gc.collect() >= 1


def test_overlapping_blocks_in_two_threads_put_the_settings_back_once_both_end():
    before = gc.get_threshold()
    first, second = few_collections(), few_collections()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)  # the first to start ends first
    assert gc.get_threshold()[0] == BULK_THRESHOLD
    second.__exit__(None, None, None)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
