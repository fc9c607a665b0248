"""Tutorial 08: dead neurons -- pruning connections can remove whole neurons (paper sec. 3.5).

After pruning, a hidden neuron can be left with
  * zero incoming connections: it outputs a constant, act(b), whatever the image -- no information;
  * zero outgoing connections: nothing reads its output.
Either way the neuron and all its remaining connections can be removed: the weight matrices really
shrink (a row of one layer, a column of the next), instead of merely holding zeros. The paper notes
that retraining drives such neurons towards zero by itself (gradient descent and regularisation).

We prune LeNet-300-100 harder than the paper (fc1 keeps 2%, fc2 3%), retrain, count the dead
neurons, and remove them with minnet.pruning.neurons.remove_dead_neurons -- which first folds each
input-less neuron's constant output into the next layer's bias, so the network computes the same
function. We check that: the outputs before and after removal agree to float rounding.

Figure: OUT/dead_neurons.png (per hidden neuron: kept inputs vs kept outputs; dead ones marked).

Run:  python tutorials/08_dead_neurons.py [--quick] [--out DIR]
--quick: 12,000 images, 4 dense + 2 retraining epochs. Full: 60,000 images, 20 + 10 epochs
(30 epochs: 37 s measured on a shared 2-core machine).
Exercise: ex06_dead_neurons.py.

Questions for you (answers for teachers: teachers/tutorial_answers.md):
1. An fc1 neuron with no incoming connections still outputs relu(b). Why is removing it not
   the same as deleting its column of fc2, and what does remove_dead_neurons do instead?
2. A neuron without outgoing connections gets no loss gradient on its inputs. How fast does
   weight decay 5e-4 at lr 0.001 shrink its weights per step, and how many steps to halve them?
3. In the full mode 129 neurons die at fc1 2% / fc2 3% / fc3 20%. Would you expect more or fewer
   dead neurons at the paper's 8% / 9% / 26%? Why?
"""

import time

import numpy as np

import minnet
from minnet import plotting
from minnet.pruning import prune_model, retrain
from minnet.pruning.neurons import find_dead_neurons, remove_dead_neurons
from minnet.tutorial import mnist_slice, print_questions, tutorial_args

# %% Options: --quick (a data slice, few epochs) or the full mode; --out, --seed
args = tutorial_args(__doc__, quick_help="data slice, few epochs (CI, < 60 s)", out_help="figure")
start = time.perf_counter()
n_train, n_test, epochs, retrain_epochs = (12000, 2000, 4, 2) if args.quick else (60000, 10000, 20, 10)
(x, y), (x_test, y_test) = mnist_slice(n_train, n_test, flatten=True)

def error(model):
    return minnet.evaluate(model, x_test, y_test)["error"]

# %% 1. Train and prune hard
print(f"== 1. Train LeNet-300-100 ({epochs} epochs on {n_train} images), prune to fc1 2%, fc2 3%, fc3 20% ==")
model = minnet.lenet_300_100(seed=args.seed)
minnet.fit(model, minnet.caffe_lenet_sgd(), x, y, epochs=epochs,
           seed=args.seed, progress=False)
prune_model(model, "sparsity", {"fc1": 0.98, "fc2": 0.97, "fc3": 0.80})

# %% 2. Which neurons are dead?
# fc1's hidden neuron j: inputs = row j of fc1's mask, outputs = column j of fc2's mask.
def report(title):
    dead = find_dead_neurons(model)                  # {layer: bool (units,)}
    fc1_in = model.layer("fc1").masks["W"].sum(axis=1)
    fc1_out = model.layer("fc2").masks["W"].sum(axis=0)
    fc2_in = model.layer("fc2").masks["W"].sum(axis=1)
    fc2_out = model.layer("fc3").masks["W"].sum(axis=0)
    print(f"{title}: fc1 {int(dead['fc1'].sum())} of {dead['fc1'].size} dead "
          f"({int((fc1_in == 0).sum())} without inputs, {int((fc1_out == 0).sum())} without outputs); "
          f"fc2 {int(dead['fc2'].sum())} of {dead['fc2'].size} dead "
          f"({int((fc2_in == 0).sum())} without inputs, {int((fc2_out == 0).sum())} without outputs)")
    return dead, fc1_in, fc1_out

print("\n== 2. Dead neurons after pruning ==")
dead, fc1_in, fc1_out = report("after pruning")

# %% 3. Retrain: the dead neurons' remaining weights decay
# An output-less fc1 neuron still has incoming weights, but no loss gradient reaches them (nobody
# reads its output), so only weight decay acts on them, pulling them towards zero (sec. 3.5).
fc1 = model.layer("fc1")
no_output = fc1_out == 0
before = float(np.abs(fc1.params["W"][no_output]).sum())
retrain(model, minnet.caffe_lenet_sgd(0.001), x, y, epochs=retrain_epochs,
        seed=args.seed + 1, progress=False)
after = float(np.abs(fc1.params["W"][no_output]).sum())
print(f"\n== 3. Retrain {retrain_epochs} epoch(s) ==")
dead, fc1_in, fc1_out = report("after retraining")
print(f"sum |incoming weights| of fc1's output-less neurons: {before:.4f} -> {after:.4f}")

fig = plotting.new_figure(7, 4)
ax = fig.subplots()
live = ~dead["fc1"]
ax.scatter(fc1_in[live], fc1_out[live], s=8, label="alive")
ax.scatter(fc1_in[~live], fc1_out[~live], s=20, marker="x", color="tab:red", label="dead")
ax.set_xlabel("kept incoming connections (of 784)")
ax.set_ylabel("kept outgoing connections (of 100)")
ax.set_title("fc1's 300 hidden neurons after pruning")
ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))   # outside: covers no point
plotting.save_png(fig, args.out / "dead_neurons.png")

# %% 4. Remove them
err_before = error(model)
logits_before = model.predict(x_test)
params_before, shapes_before = model.count_params(), [l.params["W"].shape for l in model.prunable_layers()]
result = remove_dead_neurons(model)
logits_after = model.predict(x_test)
diff = float(np.max(np.abs(logits_after - logits_before)))
print("\n== 4. Remove the dead neurons ==")
print(f"removed {result['removed']}; weight shapes {shapes_before} -> "
      f"{[l.params['W'].shape for l in model.prunable_layers()]}")
print(f"parameters (zeros included) {params_before:,} -> {model.count_params():,}; "
      f"max |logit change| {diff:.2e}; error {100 * err_before:.2f}% -> {100 * error(model):.2f}%")

# %% What to notice
print("\n== What to notice ==")
n_removed = sum(result["removed"].values())
print(f"* Pruning connections alone killed {n_removed} whole neurons here "
      f"({', '.join(f'{k}: {v}' for k, v in result['removed'].items()) or 'none'}); removing them "
      f"shrinks the dense matrices from {shapes_before} to "
      f"{[l.params['W'].shape for l in model.prunable_layers()]}.")
print(f"* The network computes the same function: logits change by at most {diff:.1e} "
      "(float rounding), because each input-less neuron's constant output was folded into the "
      "next layer's bias first.")
if before > 0:
    print(f"* During {retrain_epochs} retraining epoch(s) the incoming weights of the output-less "
          f"neurons shrank by {100 * (1 - after / before):.2f}% ({before:.3f} -> {after:.3f}): no loss "
          "gradient reaches them, only weight decay, which drives them to zero slowly (sec. 3.5: "
          "over a long retraining). Removing the neurons makes it exact at once and saves memory.")
print(f"figure in {args.out}; took {time.perf_counter() - start:.1f} s")

# %% Questions for you (the answers are for teachers: teachers/tutorial_answers.md)
print_questions(__doc__)
