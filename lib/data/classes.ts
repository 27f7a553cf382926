/** Fashion-MNIST's fixed geometry and label names, shared by every step. */
export const IMAGE_HEIGHT = 28;
export const IMAGE_WIDTH = 28;
export const PIXELS_PER_IMAGE = IMAGE_HEIGHT * IMAGE_WIDTH;
export const NUM_CLASSES = 10;

/** Index = label. Order as in the dataset's documentation and the TensorFlow tutorial. */
export const CLASS_NAMES: readonly string[] = Object.freeze([
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
]);
