"""Times every kernel of the graph training step (written by bench/profile-step.ts) with TensorFlow's tracer.

Usage: python3 bench/profile-step.py GRAPH_DIR STEPS BATCH LEARNING_RATE
Feeds the real Fashion-MNIST (Debian's IDX files, FMNIST_IDX_DIR to override), random starting
weights and dropout noise (the timings do not depend on their values), and the flip flags if
the graph has them.
"""
import collections, gzip, json, os, sys, time

import numpy as np
import tensorflow as tf

graph_dir, steps, batch, learning_rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
idx = os.environ.get('FMNIST_IDX_DIR', '/usr/share/datasets/fashion-mnist')
names = json.load(open(os.path.join(graph_dir, 'names.json')))
feeds, fetches = names['feeds'], names['fetches']

tf.compat.v1.disable_eager_execution()
session = tf.compat.v1.Session()
tf.compat.v1.saved_model.loader.load(session, ['serve'], graph_dir)
with gzip.open(os.path.join(idx, 'train-images-idx3-ubyte.gz')) as f:
    images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28, 1)
with gzip.open(os.path.join(idx, 'train-labels-idx1-ubyte.gz')) as f:
    labels = np.frombuffer(f.read(), np.uint8, offset=8)
session.run(fetches['loadData'], {feeds['images'] + ':0': images, feeds['labels'] + ':0': labels})
rng = np.random.default_rng(0)
init = {name + ':0': (rng.standard_normal(shape) * 0.05).astype(np.float32) for name, shape in zip(feeds['initialWeights'], names['weightShapes'])}
init.update({name + ':0': np.ones(shape, np.float32) for name, shape in zip(feeds['initialState'], names['stateShapes'])})
session.run(fetches['init'], init)


def step_feeds():
    fd = {feeds['indices'] + ':0': rng.integers(0, 48000, batch).astype(np.int32), feeds['learningRate'] + ':0': np.float32(learning_rate)}
    for name, dropout in zip(feeds['dropoutMasks'], names['dropouts']):
        # Multipliers 0 or 2 (rate 0.5; the rate does not change the kernels' time)
        fd[name + ':0'] = (rng.random([batch] + dropout['shape']) < 0.5).astype(np.float32) * 2
    if 'flips' in feeds:
        fd[feeds['flips'] + ':0'] = (rng.random(batch) < 0.5).astype(np.float32)
    return fd


run = [fetches['loss'] + ':0', fetches['correct'] + ':0']
for _ in range(30):  # warm-up: graph optimisation, kernel preparation
    session.run(run, step_feeds())
prepared = [step_feeds() for _ in range(steps)]
wall, cpu = time.perf_counter(), time.process_time()
for fd in prepared:
    session.run(run, fd)
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
print(f'untraced: {wall / steps * 1000:.2f} ms a step ({batch * steps / wall:.0f} images/s), CPU {cpu / wall:.2f} cores busy on average')

options = tf.compat.v1.RunOptions(trace_level=tf.compat.v1.RunOptions.FULL_TRACE)
by_kernel, by_node, walls = collections.defaultdict(float), collections.defaultdict(float), []
traced = min(steps, 50)
for fd in prepared[:traced]:
    metadata = tf.compat.v1.RunMetadata()
    started = time.perf_counter()
    session.run(run, fd, options=options, run_metadata=metadata)
    walls.append(time.perf_counter() - started)
    for device in metadata.step_stats.dev_stats:
        for node in device.node_stats:
            label = node.timeline_label
            kernel = label.split('=')[1].split('(')[0].strip() if '=' in label else node.node_name
            by_kernel[kernel] += node.all_end_rel_micros
            by_node[(node.node_name, kernel)] += node.all_end_rel_micros
total = sum(by_kernel.values())
print(f'traced: {np.median(walls) * 1000:.2f} ms a step (median of {traced}); kernel times add up to {total / traced / 1000:.2f} ms a step '
      f'({total / traced / 1000 / (np.median(walls) * 1000):.2f} kernels running at once on average)')
print('\nkernel                                     ms/step   share')
for kernel, us in sorted(by_kernel.items(), key=lambda kv: -kv[1])[:16]:
    print(f'{kernel:42s} {us / traced / 1000:7.3f}  {us / total * 100:5.1f} %')
print('\nnode (graph op)                  kernel                                     ms/step')
for (node, kernel), us in sorted(by_node.items(), key=lambda kv: -kv[1])[:16]:
    print(f'{node:32s} {kernel:42s} {us / traced / 1000:7.3f}')
