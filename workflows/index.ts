// The worker's workflow bundle entry point: every workflow type Chime registers.
export { reminderWorkflow } from './reminder.js';
export { scheduleWorkflow } from './schedule.js';
