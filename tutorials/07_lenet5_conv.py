"""Tutorial 07: LeNet-5 -- convolutions, per-layer sensitivity, and freezing conv vs FC layers.

LeNet-5 (paper Table 3) adds two convolutional layers in front of two FC layers:
    conv1 20@5x5 -> pool -> conv2 50@5x5 -> pool -> fc1 500 -> fc2 10       (431K parameters)
A convolution is a Dense layer applied to every 5x5 patch of the image: minnet unfolds the patches
into the columns of a matrix (im2col) and does one matrix product, so a conv weight W of shape
(out_channels, in_channels, 5, 5) is pruned exactly like a Dense weight -- one mask entry per
connection (sec. 2). But conv weights are *shared* across all positions: each one is used 576
times per image in conv1, so removing one costs more.

1. Sensitivity (Fig. 6): prune one layer alone, at increasing sparsity, without retraining. The
   paper: conv layers are more sensitive than FC layers, and the first conv layer the most. That
   is why its keep ratios differ per layer (conv1 66%, conv2 12%, fc1 8%, fc2 19%).
2. Freezing (sec. 3.3): prune the FC layers and retrain them with the conv layers frozen, then prune
   the conv layers and retrain them with the FC layers frozen. Retraining a pruned deep stack all
   at once suffers from vanishing gradients; freezing also makes each retraining cheaper, since
   backward can stop at the lowest trainable layer. We time both.

Figure: OUT/fig6_sensitivity.png.

Run:  python tutorials/07_lenet5_conv.py [--quick] [--out DIR]
--quick: 3,000 training images, 1 epoch, errors on 500 test images, sensitivity on 250. Full: 60,000 images,
15 dense epochs + 4 retraining epochs per phase (the learning rate annealed on a cosine each time,
as the CLI does): 370 s measured on a 2-core machine shared with another run, ending dense 0.80%
-> 0.81% after the FC phase -> 0.93% after the conv phase, at the paper's 12x. One short
retraining per phase, no dropout: `python -m minnet prune --model lenet5` (5 rounds per phase, a
final fine-tuning) reaches 0.73-0.80% (median 0.76%).
"""

import time

import minnet
from minnet import figdata, plotting
from minnet.pruning import (keep_ratios_to_sparsities, make_optimizer, paper_keep_ratios,
                            prune_model, retrain)
from minnet.pruning.sensitivity import sensitivity_analysis
from minnet.tutorial import mnist_slice, tutorial_args


def main():
    args = tutorial_args(__file__, __doc__, quick_help="data slice, 1 epoch (CI, < 60 s)", out_help="figure")
    start = time.perf_counter()
    if args.quick:
        n_train, n_test, n_sens, epochs, retrain_epochs = 3000, 500, 250, 1, 1
        levels = (0, 50, 80, 90, 95)
    else:
        n_train, n_test, n_sens, epochs, retrain_epochs = 60000, 10000, 2000, 15, 4
        levels = (0, 20, 40, 50, 60, 70, 80, 90, 95, 97)
    (x, y), (x_test, y_test) = mnist_slice(n_train, n_test)

    def error(model):
        return minnet.evaluate(model, x_test, y_test, batch_size=500)["error"]

    # -- 1. The network and the shapes through it -------------------------------------------------------
    model = minnet.lenet5(seed=args.seed)
    print("== 1. LeNet-5: one image through the network ==")
    h = x[:1]
    print(f"input  {tuple(h.shape[1:])}")
    for layer in model.layers:
        h = layer.forward(h)
        w = f"  W {tuple(layer.params['W'].shape)}" if "W" in layer.params else ""
        print(f"{layer.name:<7}{tuple(h.shape[1:])}{w}")
    print(f"total parameters {model.count_params():,} (the paper: 431K)")

    # -- 2. Train ----------------------------------------------------------------------------------------
    # The learning rate falls from 0.01 to 0 along a cosine over the whole run, as in `python -m
    # minnet prune --model lenet5` (Caffe's "inv" schedule is still at 0.006 after 15 epochs).
    def cosine_sgd(reg_strength, n_epochs):
        return make_optimizer(0.01, "cosine", 0.9, "l2", reg_strength,
                              total_iterations=n_epochs * -(-n_train // 64))   # batches of 64

    print(f"\n== 2. Train ({epochs} epoch(s) on {n_train} images; lr 0.01 -> 0 on a cosine) ==")
    hist = minnet.fit(model, cosine_sgd(5e-4, epochs), x, y, epochs=epochs, seed=args.seed,
                      progress=False)
    train_epoch_s = hist["seconds"][-1]
    err_dense = error(model)
    print(f"dense test error {100 * err_dense:.2f}% ({train_epoch_s:.1f} s per epoch on {n_train} images)")

    # -- 3. Sensitivity: each layer pruned alone, no retraining (Fig. 6) -----------------------------------
    # Every level restarts from a snapshot of the trained model, so levels never accumulate damage.
    print(f"\n== 3. Sensitivity: accuracy with one layer pruned, on {n_sens} test images ==")
    rows = sensitivity_analysis(model, x_test[:n_sens], y_test[:n_sens], sparsities=levels,
                                batch_size=n_sens)
    curves = figdata.sensitivity_curves(rows)
    print("pruned " + "".join(f"{p:>7d}%" for p in levels))
    for name, (pct, acc) in curves.items():
        print(f"{name:<7}" + "".join(f"{a:8.3f}" for a in acc))
    plotting.save_png(plotting.plot_sensitivity(curves, dense_accuracy=curves["conv1"][1][0]),
                      args.out / "fig6_sensitivity.png")

    # -- 4. Prune FC, retrain FC with conv frozen; then prune conv, retrain conv with FC frozen --------
    targets = keep_ratios_to_sparsities(paper_keep_ratios("lenet5"))
    fc_targets = {k: v for k, v in targets.items() if k.startswith("fc")}
    conv_targets = {k: v for k, v in targets.items() if k.startswith("conv")}
    # Each retraining anneals again from 0.01 (the CLI's LeNet-5 default; at the paper's lr / 10
    # a few epochs leave the pruned net under-trained), with a lighter L2.
    opt = lambda: cosine_sgd(1e-4, retrain_epochs)

    print("\n== 4. Prune FC (keep fc1 8%, fc2 19%), retrain FC with conv frozen ==")
    prune_model(model, "sparsity", fc_targets, kinds=("fc",))
    err_fc_pruned = error(model)
    h_fc = retrain(model, opt(), x, y, epochs=retrain_epochs, kinds=("fc",), seed=1, progress=False)
    err_fc = error(model)
    print(f"error after pruning FC {100 * err_fc_pruned:.2f}%, after retraining FC {100 * err_fc:.2f}% "
          f"({h_fc['seconds'][-1]:.1f} s per epoch)")

    print("\n== 5. Prune conv (keep conv1 66%, conv2 12%), retrain conv with FC frozen ==")
    prune_model(model, "sparsity", conv_targets, kinds=("conv",))
    err_conv_pruned = error(model)
    h_conv = retrain(model, opt(), x, y, epochs=retrain_epochs, kinds=("conv",), seed=2, progress=False)
    err_final = error(model)
    print(f"error after pruning conv {100 * err_conv_pruned:.2f}%, after retraining conv "
          f"{100 * err_final:.2f}% ({h_conv['seconds'][-1]:.1f} s per epoch)")
    kept = {l.name: l.masks["W"].mean() for l in model.prunable_layers()}
    print("kept: " + ", ".join(f"{n} {100 * k:.0f}%" for n, k in kept.items())
          + f"; {model.count_params():,} -> {model.count_params(nonzero=True):,} nonzero parameters")

    # -- What to notice --------------------------------------------------------------------------------------
    at = 80 if 80 in levels else levels[-2]
    drops = {name: acc[0] - acc[list(pct).index(at)] for name, (pct, acc) in curves.items()}
    order = sorted(drops, key=drops.get, reverse=True)
    print("\n== What to notice ==")
    print(f"* At {at}% pruned, accuracy drops by: " + ", ".join(f"{n} {100 * drops[n]:.1f}"
                                                              for n in order) + " points. "
          f"Most sensitive here: {order[0]} (the paper: conv1, then conv2; FC layers least).")
    print(f"* Error: dense {100 * err_dense:.2f}% -> FC pruned {100 * err_fc_pruned:.2f}% -> retrained "
          f"{100 * err_fc:.2f}% -> conv pruned {100 * err_conv_pruned:.2f}% -> retrained {100 * err_final:.2f}%.")
    print(f"* Retraining FC with conv frozen took {h_fc['seconds'][-1]:.1f} s per epoch, retraining conv "
          f"with FC frozen {h_conv['seconds'][-1]:.1f} s (dense training {train_epoch_s:.1f} s). "
          + ("With conv frozen, backward stops at fc1 and skips the expensive convolution gradients."
             if h_fc["seconds"][-1] < h_conv["seconds"][-1] else
             "Expected: FC-only retraining is cheaper (backward stops at fc1); here the machine's "
             "load hid it -- rerun on a quiet machine."))
    if args.quick:
        full_epochs = 15 + 2 * 4          # the full mode: 15 dense + 4 per retraining phase
        print(f"* A full epoch on 60,000 images would take about {train_epoch_s * 60000 / n_train / 60:.1f} "
              f"min here (an estimate from this run), so the full mode's {full_epochs} epochs take about "
              f"{full_epochs * train_epoch_s * 60000 / n_train / 3600:.1f} h (less: frozen phases are cheaper).")
        print(f"* With {n_sens} test images one image is {100 / n_sens:.2f} points: small differences in "
              "the sensitivity table are noise; the full mode uses 2,000.")
    print(f"figure in {args.out}; took {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
