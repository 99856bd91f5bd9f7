from . import test_connection
from . import test_generate
from . import test_push
from . import test_mapping
from . import test_uninstall
from . import test_record_security
from . import test_oauth_security
from . import test_status
