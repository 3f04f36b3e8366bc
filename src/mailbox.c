typedef int vw_placeholder_mailbox;
