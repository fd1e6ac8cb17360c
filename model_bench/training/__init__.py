"""Training and inference of the reference models, on arrays (no Django): a job
(model_bench.services.jobs) loads a task's images into `ImageSet`s and calls the trainer of its
model; bench scripts and tests call the same functions on synthetic arrays.

- data: ImageSet, tensors, the normalisation every network sees;
- loop: the seeded training loop with early stopping, progress and cancellation;
- classifiers: a CNN classifier trained on a task (RepVGG, VGG, ResNet, DenseNet, ShuffleNet);
- baseline: colour and texture features with logistic regression;
- hybrid: CNN features with LightGBM (CelInsight);
- segmentation: UNet++ with Dice + BCE, pre-trained on cervix masks and fine-tuned;
- pipeline: the segmentation-guided RepVGG with six-variant weighted voting (Bengbu study).
"""
