"""Exercise 1: the forward and backward pass of a fully connected (Dense) layer.

Goes with tutorial 01. Check your answers with

    python -m minnet.exercises check -k ex01_dense

Objective: derive and code the gradients of a fully connected layer, and see why a pruned
connection's gradient must be exactly 0.
Time: about 30 minutes.

A Dense layer holds a weight matrix W of shape (out_features, in_features) -- row i holds the
incoming connections of neuron i, the layout of Caffe, PyTorch and minnet -- and a bias b of shape
(out_features,). For a batch x of N examples, shape (N, in_features):

    forward:   y = x W^T + b                                   y: (N, out_features)

In backward we receive dout = dL/dy (same shape as y) and must return the gradients of the loss L
with respect to the layer's input and parameters. Write y_nj = sum_i x_ni W_ji + b_j and apply the
chain rule entry by entry; it collapses into three matrix expressions:

    dx = dout W            (N, out) @ (out, in) -> (N, in)       the gradient for the layer below
    dW = dout^T x          (out, N) @ (N, in)   -> (out, in)     summed over the batch
    db = sum_n dout[n]     (out,)

Check the shapes: every gradient has exactly the shape of the thing it is the gradient of. If a
shape is wrong you probably transposed the wrong factor.

Pruning (paper sec. 2) adds a boolean mask of W's shape: True keeps a connection, False removes it.
A removed connection must not learn, so its gradient is 0:  dW[~mask] = 0. (Its weight is already 0,
so forward needs no change.)

Use NumPy only (no minnet). Do not modify the input arrays.
"""

import numpy as np


def dense_forward(x, W, b):
    """y = x W^T + b.

    x: (N, in_features), W: (out_features, in_features), b: (out_features,)
    Returns y: (N, out_features).

    Hint: one matrix product and a broadcast addition (b is added to every row).
    """
    raise NotImplementedError("write dense_forward")


def dense_backward(dout, x, W, mask=None):
    """Gradients of the loss with respect to x, W and b, given dout = dL/dy.

    dout: (N, out_features), x: (N, in_features) (the forward input), W: (out_features, in_features),
    mask: None (nothing pruned) or a bool array of W's shape (True = connection kept).
    Returns (dx, dW, db) with shapes (N, in_features), (out_features, in_features), (out_features,).

        dx = dout W,   dW = dout^T x (then dW = 0 where mask is False),   db = dout summed over n

    Hint: db adds up dout over the examples of the batch; with a mask, every entry of dW whose
    connection is pruned must come out exactly 0.
    """
    raise NotImplementedError("write dense_backward")
