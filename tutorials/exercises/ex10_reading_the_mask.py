"""Exercise 10: read what pruning removed, from the Fig. 4 mask and the Fig. 7 histogram.

Goes with tutorial 03 (Figs. 4 and 7). Check with
    python -m minnet.exercises check -k ex10_reading_the_mask

Objective: explain from the pictures *what* was pruned and *why*: which inputs lost their
connections (Fig. 4) and where the pruning threshold sat (Fig. 7), with numbers, not impressions.
Time: about 25 minutes.

Fig. 4. LeNet-300-100's first layer fc1 has a weight matrix of 300 neurons x 784 inputs, and its
mask has the same shape (True = connection kept). Each input is a pixel of the 28 x 28 image,
flattened row by row: pixel p sits in image row p // 28, column p % 28. The paper draws the mask
as a 784 x 300 picture with the 784 inputs along the horizontal axis, so the picture falls into 28
vertical bands of 28 inputs, one band per image row, the top image row at the left. In the paper
the picture is dense in the middle and nearly empty at its left and right edges.

Fig. 7. Before pruning, a layer's weights form one bump around 0. Pruning by the paper's rule
removes every |w| <= q x std (std of the layer's weights before pruning), which cuts an empty band
out of the middle of the histogram: the gap from -q std to +q std. After retraining the survivors
spread out and the gap stays (pruned weights stay 0): the histogram is bimodal.

Your tasks:
  * kept_per_image_row(mask): how many kept connections read each image row: a number per band.
  * pruning_quality(w_before, mask): read q off the gap. Given the weights before pruning and the
    mask the rule left, the gap's half-width is the largest pruned |w|; q is that in units of std.
  * fig4_answer(): the multiple-choice question below; return one letter.

Question. Why is the Fig. 4 picture nearly empty at its left and right edges?
  A. The first and last of fc1's 300 neurons were pruned away, because neurons at the ends of a
     layer start with smaller weights.
  B. The pixels of the top and bottom image rows lost their connections: MNIST digits are centred,
     so those pixels are (almost) always 0, their weights get no gradient from the data, and weight
     decay shrinks them under the threshold.
  C. The pixels of the left and right image columns lost their connections, because the threshold
     is lower for them.
  D. Magnitude pruning removes connections at random places; the empty edges are chance.

Use NumPy only.
"""

import numpy as np


def kept_per_image_row(mask):
    """The number of kept connections that read a pixel of each image row.

    mask: bool (units, 784), fc1's keep-mask (Dense layout: row j = neuron j's inputs).
    Returns an int array (28,): entry r counts the True entries, over all neurons, whose input
    pixel is in image row r.

    Hint: one image row is 28 consecutive inputs.
    """
    raise NotImplementedError("write kept_per_image_row")


def pruning_quality(w_before, mask):
    """The quality parameter q the rule used: (largest pruned |w|) / std(w_before).

    w_before: the layer's weights before pruning (any shape); mask: bool of the same shape, the
    connections the rule kept (at least one pruned). Returns a float.

    Hint: the std is that of every weight before pruning, not of the survivors.
    """
    raise NotImplementedError("write pruning_quality")


def fig4_answer():
    """The letter of the right explanation of Fig. 4 ("A", "B", "C" or "D")."""
    raise NotImplementedError("answer the question: return one letter")
