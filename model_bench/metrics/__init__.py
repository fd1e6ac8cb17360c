"""Evaluation metrics with bootstrap intervals, as pure functions (numpy only, no Django): the
benchmark's reference models (issue 14) and the submissions (issue 15) are scored by the same code.

- bootstrap: stratified (and optionally case-clustered) resampling, percentile 95% intervals;
- classification: AUC, sensitivity, specificity, PPV, NPV, balanced accuracy, F1, accuracy and the
  confusion matrix, binary and multi-class, at image and case level; ROC curve points;
- segmentation: Dice and IoU per image, their mean and interval.
"""
