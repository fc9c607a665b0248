"""minnet.workspace: scratch blocks are reused per slot and thread; layers that use them give
outputs that later calls cannot change."""

import threading

import numpy as np

from minnet.layers import Conv2D, MaxPool2D
from minnet.workspace import release_scratch, scratch


def test_a_slot_hands_out_the_same_memory_and_grows_when_asked_for_more():
    release_scratch()
    a = scratch("t.a", (4, 5), np.float32)
    assert a.shape == (4, 5) and a.dtype == np.float32 and a.flags.c_contiguous
    assert np.shares_memory(a, scratch("t.a", (20,), np.float32))        # same slot, same memory
    assert np.shares_memory(a, scratch("t.a", (2, 3), np.float64))       # smaller fits too
    assert not np.shares_memory(a, scratch("t.b", (4, 5), np.float32))   # another slot: its own
    big = scratch("t.a", (100,), np.float64)                             # larger: a new block
    assert big.shape == (100,) and not np.shares_memory(a, big)
    assert np.shares_memory(big, scratch("t.a", (4, 5), np.float32))     # ... kept from then on
    release_scratch()
    assert not np.shares_memory(big, scratch("t.a", (4, 5), np.float32))


def test_each_thread_has_its_own_blocks():
    mine = scratch("t.thread", (64,), np.float32)
    theirs = []
    worker = threading.Thread(target=lambda: theirs.append(scratch("t.thread", (64,), np.float32)))
    worker.start()
    worker.join()
    assert not np.shares_memory(mine, theirs[0])


def test_inference_outputs_survive_the_next_call_and_repeat_bit_for_bit():
    """Conv2D's col and z live in scratch memory and MaxPool2D reuses its argmax: the arrays a
    caller gets back must still hold their values after later calls on other inputs."""
    rng = np.random.default_rng(0)
    conv = Conv2D(3, 8, 3, activation="relu", rng=0)
    conv2 = Conv2D(8, 4, 3, rng=1)
    pool = MaxPool2D(2)
    x1, x2 = (rng.random((6, 3, 12, 12), dtype=np.float32) for _ in range(2))
    y1 = conv.forward(x1)
    p1 = pool.forward(y1)
    kept = y1.copy(), p1.copy()
    conv2.forward(p1)                       # another layer fills the same scratch slots
    y2 = conv.forward(x2)
    p2 = pool.forward(y2)
    assert not np.shares_memory(y1, y2) and not np.shares_memory(p1, p2)
    np.testing.assert_array_equal(y1, kept[0])
    np.testing.assert_array_equal(p1, kept[1])
    np.testing.assert_array_equal(conv.forward(x1), kept[0])            # same input, same bits
    # the pool's reused argmax is the latest call's: backward routes dout through x1's maxima
    np.testing.assert_array_equal(pool.forward(kept[0]), kept[1])
    fresh = MaxPool2D(2)
    fresh.forward(kept[0])
    dout = rng.random(p1.shape, dtype=np.float32)
    np.testing.assert_array_equal(pool.backward(dout), fresh.backward(dout))
