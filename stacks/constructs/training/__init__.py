"""The TrainingJob construct (construct.py) and the parts it composes, one module each."""
