"""Category suggestions from message text: a character n-gram TF-IDF model with a calibrated linear
classifier, trained on (text, label) pairs from a labelled CSV or the platform's own closed cases."""
