"""The text-CNN's lottery tickets against their controls and a linear model.

``baseline`` fits scikit-learn's linear classifiers on the same training,
validation and test documents and the same label set as a text config
(issue 29, rule 4: a text model is judged beside a linear baseline);
``report`` turns an IMP trunk and its control branches into a table of
verdicts against the dense network (Frankle & Carbin's winning ticket) and
against the ticket, over replicates (``lth_jax.analysis.verdicts``).
"""
