class Tool:
    def __init__(self, func):
        self.func = func
        self.name = func.__name__

    def __call__(self, *args, **kwargs):
        return self.func(*args, **kwargs)


class StreamChunk:
    def __init__(self, data, is_final=False):
        self.data = data
        self.is_final = is_final
