// The Services page refreshes itself every 3 seconds.
setTimeout(() => location.reload(), 3000);
