"""Tutorial 01: the data, and one Dense layer by hand (forward, backward, gradient check).

Han et al. (2015) prune *connections*: the entries of a layer's weight matrix. Before pruning
anything we need to know exactly what a connection is and how it learns. This tutorial

1. loads MNIST, the data set of the paper's LeNet experiments, and looks at it;
2. runs one Dense layer forward, y = x W^T + b, and the loss on top of it;
3. runs it backward, getting dL/dW, dL/db and dL/dx, and checks that gradient against central
   differences -- the way every layer in minnet is tested;
4. sets a pruning mask and sees that a pruned connection gets no gradient;
5. trains this single layer (softmax regression) for a moment, to see the loop work end to end.

Run:  python tutorials/01_data_and_dense.py [--quick] [--out DIR]
Exercise: tutorials/exercises/ex01_dense.py and ex02_softmax_cross_entropy.py ask you to write
the forward/backward pass and the loss yourself.

Questions for you (answers for teachers: teachers/tutorial_answers.md):
1. dW = dout^T x. 67 of the 784 pixels are 0 in every one of the 60,000 training images.
   What gradient do their 67 x 10 weights get, and what happens to those weights during training
   with and without weight decay? What should magnitude pruning then do with them?
2. The gradient check runs in float64 with h = 1e-5. Predict what happens to the worst relative
   error in float32 (about 7 significant digits), then try it.
3. After section 4 un-prunes the layer, the pruned weights are exactly 0. Would training bring
   them back? What does that tell you about how the optimiser must treat pruned weights?
"""

import time

import numpy as np

import minnet
from minnet import plotting
from minnet.data import load_mnist
from minnet.tutorial import print_questions, tutorial_args

# %% Options: --quick (a data slice, few epochs) or the full mode; --out, --seed
args = tutorial_args(__doc__, quick_help="fewer gradient-check entries and training examples (CI, < 60 s)", seed=False)
start = time.perf_counter()

# %% 1. The data
# load_mnist() finds the repository's data/mnist folder (or $MINNET_DATA) and checks the
# files' SHA-256 digests. Images come as float32 in [0, 1], shape (N, 1, 28, 28): N images of
# 1 channel. LeNet-300-100 reads each image as a flat vector of 784 pixels.
(x_train, y_train), (x_test, y_test) = load_mnist()
print("== 1. MNIST ==")
print(f"train images {x_train.shape} {x_train.dtype}, values {x_train.min():.0f}..{x_train.max():.0f}; "
      f"labels {y_train.shape} {y_train.dtype}")
print(f"test images  {x_test.shape}")
counts = np.bincount(y_train, minlength=10)
print(f"examples per digit (train): {dict(enumerate(counts.tolist()))}")
centre = x_train[:, 0, 7:21, 7:21].mean()
border = np.concatenate([x_train[:, 0, :4].ravel(), x_train[:, 0, -4:].ravel()]).mean()
print(f"mean pixel in the central 14x14: {centre:.3f}; in the top and bottom 4 rows: {border:.4f}")

fig = plotting.new_figure(8, 2.2)
axes = fig.subplots(2, 8)
for ax, img, label in zip(axes.ravel(), x_train[:16, 0], y_train[:16]):
    ax.imshow(img, cmap="gray_r")
    ax.set_title(str(label), fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
plotting.save_png(fig, args.out / "digits.png")

# %% 2. One Dense layer, forward
# W has shape (out, in) = (10, 784): row i holds the 784 incoming connections of output i.
# float64 so that the gradient check below is accurate (training uses float32).
print("\n== 2. Dense forward ==")
layer = minnet.Dense(784, 10, rng=0, dtype=np.float64, name="fc")
x = x_train[:8].reshape(8, 784).astype(np.float64)      # a batch of N = 8 flat images
y = y_train[:8]
logits = layer.forward(x, training=True)                  # (8, 784) @ (784, 10) + b -> (8, 10)
loss, dlogits = minnet.softmax_cross_entropy(logits, y)
print(f"x {x.shape} -> W {layer.params['W'].shape}, b {layer.params['b'].shape} -> logits {logits.shape}")
print(f"loss of the untrained layer {loss:.3f}; log(10) = {np.log(10):.3f} "
      "(ten classes, no preference yet)")

# %% 3. Backward and the gradient check
# backward(dL/dlogits) fills layer.grads and returns dL/dx for the layer below:
#   dx = dout W,  dW = dout^T x,  db = sum_n dout   (see help(minnet.Dense))
print("\n== 3. Dense backward and a gradient check ==")
dx = layer.backward(dlogits)
dW = layer.grads["W"].copy()
print(f"dx {dx.shape}, dW {dW.shape}, db {layer.grads['b'].shape}: each gradient has the shape "
      "of what it differentiates")

# Central differences: dL/dW[i, j] ~ (L(W + h e_ij) - L(W - h e_ij)) / 2h, entry by entry.
def loss_now():
    return minnet.softmax_cross_entropy(layer.forward(x), y)[0]

rng = np.random.default_rng(0)
n_checks = 20 if args.quick else 300
# Check entries where the image is not blank (the gradient is exactly 0 for blank pixels).
cols = rng.choice(np.flatnonzero(x.any(axis=0)), n_checks)
rows = rng.integers(0, 10, n_checks)
W, h, worst = layer.params["W"], 1e-5, 0.0
for i, j in zip(rows, cols):
    old = W[i, j]
    W[i, j] = old + h
    plus = loss_now()
    W[i, j] = old - h
    minus = loss_now()
    W[i, j] = old
    numeric = (plus - minus) / (2 * h)
    rel = abs(numeric - dW[i, j]) / max(abs(numeric) + abs(dW[i, j]), 1e-12)
    worst = max(worst, rel)
print(f"checked {n_checks} entries of dW against central differences: "
      f"worst relative error {worst:.1e}")
assert worst < 1e-6, "the analytic gradient disagrees with the numerical one"

# %% 4. A pruning mask
# Pruning = a boolean mask per weight matrix. set_mask zeroes the pruned weights; backward then
# zeroes their gradients, so they cannot learn their way back (paper sec. 2, step 2).
print("\n== 4. A pruned connection gets no gradient ==")
keep = np.abs(layer.params["W"]) > 0.5 * np.std(layer.params["W"])
layer.set_mask("W", keep)
layer.backward(minnet.softmax_cross_entropy(layer.forward(x, training=True), y)[1])
pruned_grads = np.abs(layer.grads["W"][~keep]).max()
kept_grads = np.abs(layer.grads["W"][keep]).max()
print(f"kept {keep.mean():.0%} of W; largest |gradient| on pruned connections {pruned_grads:.1g}, "
      f"on kept ones {kept_grads:.3f}")
layer.set_mask("W", np.ones_like(keep))       # un-prune (the pruned weights stay 0 until trained)

# %% 5. Train this one layer
# The whole training loop of minnet.fit is: forward, loss, backward, optimiser step.
print("\n== 5. Softmax regression: the loop, end to end ==")
n_train = 6000 if args.quick else 60000
model = minnet.Sequential([minnet.Flatten(name="flatten"),
                           minnet.Dense(784, 10, rng=0, name="fc")])
acc_before = minnet.evaluate(model, x_test[:2000], y_test[:2000])["accuracy"]
history = minnet.fit(model, minnet.SGD(lr=0.01, momentum=0.9), x_train[:n_train],
                     y_train[:n_train], epochs=1, batch_size=64, validation=(x_test[:2000], y_test[:2000]), progress=False)
acc_after = history["val_acc"][-1]

# %% What to notice
print("\n== What to notice ==")
print(f"* Pixels near the centre are bright on average ({centre:.3f}), the top and bottom rows are "
      f"almost always blank ({border:.4f}): connections from those pixels carry nothing, "
      "which is why pruning will remove them (paper Fig. 4, tutorial 03).")
print(f"* The untrained loss {loss:.2f} is close to log 10 = {np.log(10):.2f}: the layer starts "
      "with no opinion.")
print(f"* The hand-written backward pass matches finite differences to {worst:.0e} "
      "relative error: this is how you know a gradient is right.")
print(f"* Pruned connections get a gradient of exactly {pruned_grads:g}: masks are honoured "
      "by backward (and by the optimiser, see exercise 4).")
print(f"* One epoch on {n_train} images takes one linear layer from {acc_before:.2f} to "
      f"{acc_after:.2f} test accuracy; LeNet-300-100 (tutorial 02) adds two hidden layers.")
print(f"figures in {args.out}; took {time.perf_counter() - start:.1f} s")

# %% Questions for you (the answers are for teachers: teachers/tutorial_answers.md)
print_questions(__doc__)
