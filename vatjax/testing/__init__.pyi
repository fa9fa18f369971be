# The public names of vatjax.testing, loaded on first use by lazy_loader.
from .fakeserver import NO_RATING_TEXT as NO_RATING_TEXT
from .fakeserver import FakeChatServer as FakeChatServer
from .fakeserver import fake_rating as fake_rating
