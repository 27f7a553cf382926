"""The Keras walkthrough (shared/seed), step for step, as the reference our benchmarks compare with.

Usage: python bench/keras/walkthrough.py TRAIN_CSV TEST_CSV [--epochs 10] [--batch-size 64] [--json OUT]
Prints the walkthrough's output and, with --json, writes timings and accuracy for bench/train.
"""
import argparse
import json
import os
import resource
import time

t_start = time.perf_counter()
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import classification_report, confusion_matrix  # noqa: E402
from tensorflow.keras.layers import Conv2D, Dense, Dropout, Flatten, Input, MaxPooling2D  # noqa: E402
from tensorflow.keras.models import Sequential  # noqa: E402
from tensorflow.keras.utils import to_categorical  # noqa: E402
import tensorflow as tf  # noqa: E402

CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
               'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']


class EpochTimer(tf.keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds = getattr(self, 'seconds', []) + [time.perf_counter() - self.started]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('train_csv')
    parser.add_argument('test_csv')
    parser.add_argument('--epochs', type=int, default=10)
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--json')
    args = parser.parse_args()
    t_imported = time.perf_counter()

    # Loading and inspecting data
    train_df = pd.read_csv(args.train_csv)
    test_df = pd.read_csv(args.test_csv)
    t_loaded = time.perf_counter()
    print(train_df.head())
    print(sorted(train_df['label'].unique()))

    # Preprocessing: separate, normalise /255, reshape, one-hot
    X_train = train_df.iloc[:, 1:].values / 255.0
    y_train = train_df['label'].values
    X_test = test_df.iloc[:, 1:].values / 255.0
    y_test = test_df['label'].values
    X_train = X_train.reshape(-1, 28, 28, 1)
    X_test = X_test.reshape(-1, 28, 28, 1)
    y_train = to_categorical(y_train, num_classes=10)
    y_test = to_categorical(y_test, num_classes=10)

    # The CNN
    model = Sequential()
    model.add(Input(shape=(28, 28, 1)))
    model.add(Conv2D(32, (3, 3), activation='relu'))
    model.add(MaxPooling2D((2, 2)))
    model.add(Conv2D(64, (3, 3), activation='relu'))
    model.add(MaxPooling2D((2, 2)))
    model.add(Flatten())
    model.add(Dense(128, activation='relu'))
    model.add(Dropout(0.5))
    model.add(Dense(10, activation='softmax'))
    model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])

    timer = EpochTimer()
    t_fit = time.perf_counter()
    history = model.fit(X_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
                        validation_split=0.2, callbacks=[timer], verbose=2)
    fit_seconds = time.perf_counter() - t_fit

    t_eval = time.perf_counter()
    test_loss, test_acc = model.evaluate(X_test, y_test, verbose=0)
    print(f"Test accuracy: {test_acc:.4f}")
    pred_probs = model.predict(X_test, verbose=0)
    y_pred = np.argmax(pred_probs, axis=1)
    y_true = np.argmax(y_test, axis=1)
    print(classification_report(y_true, y_pred, target_names=CLASS_NAMES))
    cm = confusion_matrix(y_true, y_pred)
    eval_seconds = time.perf_counter() - t_eval

    train_images = int(round(len(X_train) * 0.8))
    result = {
        'tool': f'keras {tf.keras.__version__} / tensorflow {tf.__version__}',
        'threads': {'intra': tf.config.threading.get_intra_op_parallelism_threads(),
                    'inter': tf.config.threading.get_inter_op_parallelism_threads(),
                    'cpus': os.cpu_count()},
        'epochs': args.epochs,
        'batchSize': args.batch_size,
        'trainImages': train_images,
        'csvLoadSeconds': t_loaded - t_imported,
        'importSeconds': t_imported - t_start,
        'fitSeconds': fit_seconds,
        'epochSeconds': timer.seconds,
        'imagesPerSecond': [train_images / s for s in timer.seconds],
        'evaluateSeconds': eval_seconds,
        'testAccuracy': float(test_acc),
        'testLoss': float(test_loss),
        'valAccuracy': [float(v) for v in history.history['val_accuracy']],
        'confusionMatrixTrace': int(np.trace(cm)),
        'peakRssMB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        'totalSeconds': time.perf_counter() - t_start,
    }
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=2)


if __name__ == '__main__':
    main()
