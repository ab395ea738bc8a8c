"""sgs: monitor and assess 双公示 work (command line, settings, city configuration)."""
