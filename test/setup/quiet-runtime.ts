// Worker logs at WARN in tests: state changes and polling chatter would bury the failures.
import { DefaultLogger, Runtime } from '@temporalio/worker';

Runtime.install({ logger: new DefaultLogger('WARN') });
