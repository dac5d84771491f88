"""Activity 活动管理: daily 5-3-1 logs, customers and prospects, plans and reviews, meetings, coaching."""
